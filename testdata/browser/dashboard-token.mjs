// Drives the geoblob dashboard in headless Chromium as a remote browser of
// a server started with a control token, for
// internal/dashboard/browser_test.go: the browser answers the Basic
// challenge with the token as the password, then the page's buttons must
// reach the control API with the same credentials.
//
// Environment: DASHBOARD_URL and TOKEN (required), CHROMIUM (default
// /usr/bin/chromium), STEP_TIMEOUT_MS (default 30000).
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const url = process.env.DASHBOARD_URL;
const token = process.env.TOKEN;
const timeout = Number(process.env.STEP_TIMEOUT_MS || 30000);
if (!url || !token) {
  console.error("DASHBOARD_URL and TOKEN must be set");
  process.exit(2);
}

const step = (name, extra = {}) => console.log(JSON.stringify({ step: name, ...extra }));
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
    // Answered only when the server challenges, as a person would.
    httpCredentials: { username: "dashboard", password: token, send: "unauthorized" },
  });
  const page = context.pages()[0] || (await context.newPage());
  const resp = await page.goto(url);
  step("loaded", { status: resp ? resp.status() : 0, url: page.url() });
  await page.waitForFunction(() => document.getElementById("conn").textContent === "live", null, { timeout });
  step("live");

  // Each button's answer lands in #action-status, success or error.
  const press = async (name) => {
    await page.evaluate(() => { document.getElementById("action-status").textContent = ""; });
    await page.getByRole("button", { name, exact: true }).click();
    await page.waitForFunction(() => document.getElementById("action-status").textContent !== "", null, { timeout });
    return page.$eval("#action-status", (el) => ({ text: el.textContent, error: el.classList.contains("err") }));
  };
  step("outage", await press("Primary outage"));
  step("paused", await press("Pause replication"));
  step("recovered", await press("Recover"));
  step("ok");
} catch (e) {
  console.error(String(e && e.stack ? e.stack : e));
  process.exitCode = 1;
} finally {
  if (context) await context.close();
  rmSync(profile, { recursive: true, force: true });
}
