// The README's examples run as written (examples/ holds them verbatim).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { PACKAGE_DIR, tempDir, runChild } from './helpers.mjs'

const readme = fs.readFileSync(path.join(PACKAGE_DIR, 'README.md'), 'utf8')
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])

for (const [i, name] of ['journal.mjs', 'loom.mjs'].entries()) {
  test(`README example ${name} runs`, async (t) => {
    const file = path.join(PACKAGE_DIR, 'examples', name)
    assert.ok(fs.readFileSync(file, 'utf8').endsWith(blocks[i]), `examples/${name} differs from the README`)
    const cwd = tempDir(t)
    const out = await runChild({ shell: `cd "${cwd}" && exec "${process.execPath}" "${file}"` })
    assert.equal(out.code, 0, out.stderr)
    assert.ok(out.stdout.length > 0)
  })
}
