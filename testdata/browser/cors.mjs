// Runs @azure/storage-blob in headless Chromium from pages on other
// loopback origins than the emulator's, for emulator/cors_browser_test.go:
// each run opens its page, waits for the module to load, calls
// geoblobRun(params) and prints what happened as one JSON line.
//
// Environment: RUNS (required): a JSON list of {name, page, params};
// CHROMIUM (default /usr/bin/chromium), STEP_TIMEOUT_MS (default 30000).
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const runs = JSON.parse(process.env.RUNS || "[]");
const timeout = Number(process.env.STEP_TIMEOUT_MS || 30000);
if (runs.length === 0) {
  console.error("RUNS is not set");
  process.exit(2);
}
const profile = mkdtempSync(join(tmpdir(), "geoblob-chromium-"));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  for (const run of runs) {
    const started = Date.now();
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push("page error: " + e.message));
    page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
    await page.goto(run.page);
    await page.waitForFunction(() => window.geoblobReady === true, null, { timeout });
    const result = await page.evaluate((p) => window.geoblobRun(p), run.params);
    console.log(JSON.stringify({ step: run.name, ...result, errors, ms: Date.now() - started }));
    await page.close();
  }
  console.log(JSON.stringify({ step: "done" }));
} finally {
  if (context) await context.close();
  rmSync(profile, { recursive: true, force: true });
}
