// Shared test helpers: temporary journal directories and child processes.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import crypto from 'node:crypto'
import { spawn, execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * The test server's URI (`tests/postgres.sh` sets `TIDELOG_TEST_POSTGRES`). With `CI=true`
 * the PostgreSQL variants run even without one, and fail (as the core's do).
 */
export const POSTGRES_URI = process.env.TIDELOG_TEST_POSTGRES || undefined
const POSTGRES = POSTGRES_URI !== undefined || process.env.CI === 'true' ? ['postgres'] : []

export const BACKENDS = ['lmdb', 'files', 'memory', ...POSTGRES]
/** Backends whose journals outlive a close. */
export const DURABLE_BACKENDS = ['lmdb', 'files', ...POSTGRES]
/** Backends with a journal directory on the local disk. */
export const FILE_BACKENDS = ['lmdb', 'files']
export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** A fresh directory, removed when the test ends. */
export function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidelog-node-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A URI on the test server with a fresh schema of its own (`?tidelog_schema=...`). */
export function postgresLocation() {
  if (POSTGRES_URI === undefined) throw new Error('CI=true but TIDELOG_TEST_POSTGRES is unset: run the tests through tests/postgres.sh')
  const schema = `node_${crypto.randomBytes(8).toString('hex')}`
  return `${POSTGRES_URI}${POSTGRES_URI.includes('?') ? '&' : '?'}tidelog_schema=${schema}`
}

/** Where a fresh test journal on `backend` lives: a new directory, or a new PostgreSQL schema. */
export function journalLocation(t, backend) {
  return backend === 'postgres' ? postgresLocation() : tempDir(t)
}

/**
 * A throwaway PostgreSQL server of the calling test's own (`tests/postgres.sh start`), so
 * stopping it disturbs no other test: `{ uri, stop }`. `undefined` when the script's location
 * is unknown (outside `tests/postgres.sh run`).
 */
export function ownPostgresServer() {
  const ctl = process.env.TIDELOG_TEST_POSTGRES_CTL
  if (!ctl) return undefined
  const out = execFileSync(ctl, ['start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  const env = Object.fromEntries([...out.matchAll(/^export (\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]))
  return {
    uri: env.TIDELOG_TEST_POSTGRES,
    stop: () => execFileSync(ctl, ['stop', env.TIDELOG_TEST_POSTGRES_DIR], { stdio: 'ignore' }),
  }
}

/**
 * Runs `node --input-type=module -e script` (or a shell line) in a child and
 * collects its output. `timeoutMs` only guards against a hang.
 */
export function runChild({ script, shell, env = {}, timeoutMs = 60_000, onLine }) {
  return new Promise((resolve, reject) => {
    const child = shell
      ? spawn('bash', ['-c', shell], { cwd: PACKAGE_DIR, env: { ...process.env, ...env } })
      : spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: PACKAGE_DIR, env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    let partial = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`child did not exit within ${timeoutMs} ms (hang); stdout: ${stdout} stderr: ${stderr}`))
    }, timeoutMs)
    child.stdout.on('data', (chunk) => {
      stdout += chunk
      if (onLine) {
        partial += chunk
        const lines = partial.split('\n')
        partial = lines.pop()
        for (const line of lines) onLine(line, child)
      }
    })
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}
