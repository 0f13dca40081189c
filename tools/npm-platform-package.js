#!/usr/bin/env node
// Lays out one napi-rs platform package of the `tidelog` npm package around a prebuilt addon, as
// `napi create-npm-dirs` + `napi artifacts` would:
//   node tools/npm-platform-package.js ADDON PLATFORM OUT_DIR
// PLATFORM is one of the suffixes below; the package is `tidelog-<PLATFORM>` with `os`, `cpu` and `libc`
// fields, so npm installs only the one that fits. tools/dist.sh and .github/workflows/release.yml use it;
// `optionalDependencies` (main-package.js) lists the same names.
'use strict'
const fs = require('fs')
const path = require('path')

const PLATFORMS = {
  'linux-x64-gnu': { os: 'linux', cpu: 'x64', libc: 'glibc' },
  'linux-arm64-gnu': { os: 'linux', cpu: 'arm64', libc: 'glibc' },
  'linux-x64-musl': { os: 'linux', cpu: 'x64', libc: 'musl' },
  'linux-arm64-musl': { os: 'linux', cpu: 'arm64', libc: 'musl' },
  'darwin-x64': { os: 'darwin', cpu: 'x64' },
  'darwin-arm64': { os: 'darwin', cpu: 'arm64' },
  'win32-x64-msvc': { os: 'win32', cpu: 'x64' },
}
module.exports = { PLATFORMS }

if (require.main === module) {
  const [addon, platform, outDir] = process.argv.slice(2)
  const spec = PLATFORMS[platform]
  if (!addon || !spec || !outDir) {
    console.error(`usage: npm-platform-package.js ADDON PLATFORM OUT_DIR (PLATFORM: ${Object.keys(PLATFORMS).join(', ')})`)
    process.exit(2)
  }
  const root = path.join(__dirname, '..')
  const main = JSON.parse(fs.readFileSync(path.join(root, 'bindings-node', 'package.json'), 'utf8'))
  const name = `${main.name}-${platform}`
  const file = `${main.napi.binaryName}.${platform}.node`
  fs.mkdirSync(outDir, { recursive: true })
  fs.copyFileSync(addon, path.join(outDir, file))
  fs.copyFileSync(path.join(root, 'LICENSE'), path.join(outDir, 'LICENSE'))
  const pkg = {
    name,
    version: main.version,
    description: `The ${platform} native addon of ${main.name}; installed by it through optionalDependencies`,
    license: main.license,
    homepage: main.homepage,
    repository: main.repository,
    bugs: main.bugs,
    main: file,
    files: [file, 'README.md', 'LICENSE'],
    os: [spec.os],
    cpu: [spec.cpu],
    ...(spec.libc ? { libc: [spec.libc] } : {}),
    engines: main.engines,
  }
  fs.writeFileSync(path.join(outDir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
  fs.writeFileSync(
    path.join(outDir, 'README.md'),
    `# ${name}\n\nThe prebuilt native addon of [\`${main.name}\`](${main.homepage}) for ${platform}. Install \`${main.name}\`, not this package.\n`,
  )
}
