// Shared test helpers: temporary journal directories and child processes.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BACKENDS = ['lmdb', 'files', 'memory']
export const DURABLE_BACKENDS = ['lmdb', 'files']
export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** A fresh directory, removed when the test ends. */
export function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidelog-node-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
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
