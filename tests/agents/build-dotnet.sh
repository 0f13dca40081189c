#!/usr/bin/env bash
# Compiles the .NET agent against what bindings-dotnet/build.sh built (Mono toolchain).
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
. "$root/bindings-dotnet/build/dotnet-tools/env.sh"
out=build/dotnet
mkdir -p "$out"
cp "$root"/bindings-dotnet/build/test/Tidelog.dll "$root"/bindings-dotnet/build/test/libtidelog_c.so "$out"/
cp "$DOTNET_TOOLS"/lib/Newtonsoft.Json.dll "$out"/
polyfill="$out/IsExternalInit.cs"
echo 'namespace System.Runtime.CompilerServices { internal static class IsExternalInit {} }' > "$polyfill"
$CSC -nologo $CSC_BASE_REFS -langversion:latest -nullable:enable -out:"$out/Agent.exe" \
  -r:"$out/Tidelog.dll" -r:"$out/Newtonsoft.Json.dll" -r:/usr/lib/mono/4.5/Facades/System.Runtime.dll \
  Agent.cs "$polyfill"
