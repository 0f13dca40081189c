#!/usr/bin/env node
// Turns an unpacked `npm pack` of bindings-node into the published main package: adds `optionalDependencies`
// on every platform package (what `napi prepublish` does at publish time) and drops the development fields.
//   node tools/npm-main-package.js PACKAGE_DIR
'use strict'
const fs = require('fs')
const path = require('path')
const { PLATFORMS } = require('./npm-platform-package.js')

const file = path.join(process.argv[2], 'package.json')
const pkg = JSON.parse(fs.readFileSync(file, 'utf8'))
pkg.optionalDependencies = Object.fromEntries(Object.keys(PLATFORMS).map((p) => [`${pkg.name}-${p}`, pkg.version]))
delete pkg.devDependencies
delete pkg.scripts
fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n')
