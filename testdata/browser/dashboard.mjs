// Drives the geoblob dashboard in headless Chromium, for
// internal/dashboard/browser_test.go: load the page, start a primary
// outage, see reads move to the secondary and the breaker open, recover
// (with the keyboard), see the primary serve again, save a screenshot.
//
// Environment: DASHBOARD_URL (required), SCREENSHOT (path of the PNG),
// CHROMIUM (default /usr/bin/chromium), STEP_TIMEOUT_MS (default 30000).
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const url = process.env.DASHBOARD_URL;
const shot = process.env.SCREENSHOT || "dashboard.png";
const timeout = Number(process.env.STEP_TIMEOUT_MS || 30000);
if (!url) {
  console.error("DASHBOARD_URL is not set");
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
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] || (await context.newPage());
  const failed = [];
  page.on("requestfailed", (r) => {
    // The event stream is cut when the test ends; anything else is a bug.
    if (!r.url().endsWith("/events")) failed.push(r.url());
  });
  page.on("pageerror", (e) => failed.push("page error: " + e.message));
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.origin !== new URL(url).origin) failed.push("external request: " + r.url());
  });

  const num = (sel) => page.$eval(sel, (el) => Number(el.textContent));
  const text = (sel) => page.$eval(sel, (el) => el.textContent.trim());

  await page.goto(url);
  await page.waitForFunction(() => document.getElementById("conn").textContent === "live", null, { timeout });
  step("loaded");

  // The client reads from the primary and its breaker is closed.
  await page.waitForFunction(() => Number(document.getElementById("reads-primary").textContent) > 0 &&
    document.getElementById("breaker-state").textContent === "closed", null, { timeout });
  const before = { primary: await num("#reads-primary"), secondary: await num("#reads-secondary") };
  step("primary-serving", before);

  await page.getByRole("button", { name: "Primary outage", exact: true }).click();
  await page.waitForFunction((s0) => Number(document.getElementById("reads-secondary").textContent) > s0, before.secondary, { timeout });
  await page.waitForFunction(() => document.getElementById("breaker-state").textContent !== "closed", null, { timeout });
  step("outage", { breaker: await text("#breaker-state"), secondary: await num("#reads-secondary"), status: await text("#action-status") });

  // Recover with the keyboard: focus the button and press Enter.
  await page.focus("#recover");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.getElementById("breaker-state").textContent === "closed", null, { timeout });
  // The primary serves again: the newest reads are P.
  await page.waitForFunction(() => {
    const spans = document.getElementById("stream").children;
    if (spans.length < 10) return false;
    for (let i = spans.length - 10; i < spans.length; i++) if (spans[i].className !== "P") return false;
    return true;
  }, null, { timeout });
  const transitions = await page.$$eval("#transitions li", (els) => els.map((e) => e.textContent));
  step("recovered", { breaker: await text("#breaker-state"), status: await text("#action-status"), transitions });

  // Let two more ticks land so that the charts show the whole story.
  const ticks = await page.evaluate(() => Number(document.body.dataset.ticks || 0));
  await page.waitForFunction((n) => Number(document.body.dataset.ticks || 0) >= n + 2, ticks, { timeout });
  await page.screenshot({ path: shot, fullPage: true });
  step("screenshot", { path: shot });

  // Narrow window: nothing wider than the viewport.
  await page.setViewportSize({ width: 380, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  step("narrow", { overflow });

  if (failed.length) {
    console.error("failed requests or page errors: " + failed.join("; "));
    process.exit(1);
  }
  step("ok");
} catch (e) {
  console.error(String(e && e.stack ? e.stack : e));
  process.exitCode = 1;
} finally {
  if (context) await context.close();
  rmSync(profile, { recursive: true, force: true });
}
