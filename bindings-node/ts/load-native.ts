/**
 * Finds the native addon: a local build at the package root (`npm run build`), else the
 * prebuilt platform package that npm installed from `optionalDependencies` (napi-rs layout:
 * `tidelog-<platform>-<arch>[-<abi>]`, each with `os`, `cpu` and `libc` fields).
 * @internal
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import type * as Native from '../native'

/** The platform package name's suffix for this process, or null for a platform with no prebuilt addon. */
export function platformTag(): string | null {
  const { platform, arch } = process
  if (platform === 'linux' && (arch === 'x64' || arch === 'arm64')) return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'darwin' && (arch === 'x64' || arch === 'arm64')) return `darwin-${arch}`
  if (platform === 'win32' && arch === 'x64') return 'win32-x64-msvc'
  return null
}

function isMusl(): boolean {
  // glibc's Node reports the runtime glibc version; musl's has none.
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
  return report?.header?.glibcVersionRuntime === undefined
}

export function loadNative(): typeof Native {
  const local = path.join(__dirname, '..', 'tidelog.node')
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (fs.existsSync(local)) return require(local) as typeof Native
  const tag = platformTag()
  if (tag === null) {
    throw new Error(`tidelog has no prebuilt native addon for ${process.platform}-${process.arch}; build it from source (see the README)`)
  }
  const name = `tidelog-${tag}`
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as typeof Native
  } catch (cause) {
    throw new Error(
      `tidelog: could not load its native addon from the package ${name}, an optional dependency of tidelog. ` +
        'Reinstall without --no-optional / --omit=optional, with the same version for both packages.',
      { cause },
    )
  }
}
