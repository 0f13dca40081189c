// The loader names the napi-rs platform package that fits this process (tools/npm-platform-package.js makes them).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { platformTag } = require('../dist/load-native.js')
const { PLATFORMS } = require('../../tools/npm-platform-package.js')

test('platformTag names a platform package that the release builds, with os/cpu/libc of this process', () => {
  const tag = platformTag()
  assert.ok(tag !== null, `${process.platform}-${process.arch} has a prebuilt addon`)
  const spec = PLATFORMS[tag]
  assert.ok(spec, `tidelog-${tag} is one of the release's platform packages`)
  assert.equal(spec.os, process.platform)
  assert.equal(spec.cpu, process.arch)
  const glibc = process.report.getReport().header.glibcVersionRuntime
  if (process.platform === 'linux') assert.equal(spec.libc, glibc ? 'glibc' : 'musl')
})
