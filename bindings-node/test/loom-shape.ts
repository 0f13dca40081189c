// Loom's journal-store types as current Loom declares them (src/storage/journal-store.ts and
// src/actor/journal.ts of certo-ventures/loom, whose package is not on the npm registry), restated
// here independently of tidelog/loom, so that the check in typecheck.ts is not circular.
interface ImmerPatch {
  op: 'replace' | 'remove' | 'add'
  path: (string | number)[]
  value?: any
}

export type LoomJournalEntry =
  | { type: 'state_patches'; patches: ImmerPatch[]; inversePatches: ImmerPatch[]; timestamp: number }
  | { type: 'activity_scheduled'; activityId: string; name: string; input: unknown }
  | { type: 'activity_completed'; activityId: string; result: unknown }
  | { type: 'activity_failed'; activityId: string; error: string }
  | { type: 'child_spawned'; childId: string; actorType: string; input: unknown }
  | { type: 'event_received'; eventType: string; data: unknown }
  | { type: 'suspended'; reason: string }
  | { type: 'invocation'; messageId: string; timestamp: string; payload: unknown; metadata?: Record<string, unknown> }
  | {
      type: 'decision_made'
      decisionId: string
      timestamp: number
      decisionType: 'exception' | 'approval' | 'escalation' | 'override' | 'policy_application' | 'synthesis'
      rationale: string
      reasoning?: string[]
      inputs: Array<{ system: string; entity: string; query: string; result: any; relevance: string; retrievedAt: number }>
      outcome: any
      policy?: { id: string; version: string; rule: string }
      precedents?: string[]
      isException: boolean
      exceptionReason?: string
      approvers?: Array<{ userId: string; role: string; approvedAt: number; comment?: string }>
      context: Record<string, any>
    }
  | { type: 'context_gathered'; decisionId: string; system: string; entity: string; query: string; result: any; relevance: string; retrievedAt: number }
  | { type: 'precedent_referenced'; decisionId: string; precedentId: string; relevance: string; retrievedAt: number }
  | {
      type: 'decision_outcome_tracked'
      decisionId: string
      wasCorrect: boolean
      actualResult?: any
      feedback?: string
      trackedAt: number
      trackedBy: string
    }

export interface LoomJournalSnapshot {
  state: Record<string, unknown>
  cursor: number
  timestamp: number
}

export interface LoomJournalStore {
  appendEntry(actorId: string, entry: LoomJournalEntry): Promise<void>
  readEntries(actorId: string): Promise<LoomJournalEntry[]>
  saveSnapshot(actorId: string, snapshot: LoomJournalSnapshot): Promise<void>
  getLatestSnapshot(actorId: string): Promise<LoomJournalSnapshot | null>
  trimEntries(actorId: string, beforeCursor: number): Promise<void>
  deleteJournal(actorId: string): Promise<void>
}

/** How Loom's ActorRuntime takes a journal store: positionally, fifth (stand-ins for its other collaborators). */
export declare class LoomActorRuntime {
  constructor(stateStore: object, messageQueue: object, lockManager: object, tracer?: object, journalStore?: LoomJournalStore, metricsCollector?: object)
}
