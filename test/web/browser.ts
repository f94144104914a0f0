/**
 * Headless Chromium for dashboard tests (used by test/privileged/dashboard-browser*.test.ts,
 * and reusable against the real daemon): launch, sign in, collect page errors, screenshots.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-output/screenshots/', import.meta.url));

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/** `executablePath`: another launcher, e.g. a wrapper that starts Chromium inside a namespace. */
export function launchChromium(executablePath = CHROMIUM_PATH): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30_000,
  });
}

/**
 * Everything that went wrong in the page: uncaught exceptions, console errors (CSP
 * violations land there) and any alert() — an alert means injected script ran.
 */
export interface PageProblems {
  errors: string[];
  alerts: string[];
}

export function watchPage(page: Page): PageProblems {
  const p: PageProblems = { errors: [], alerts: [] };
  page.on('pageerror', (e) => p.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') p.errors.push(`console: ${m.text()}`);
  });
  page.on('dialog', (d) => {
    if (d.type() === 'confirm') {
      void d.accept();
      return;
    }
    p.alerts.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  return p;
}

export async function signIn(
  page: Page,
  baseUrl: string,
  username: string,
  password: string,
  screenshot?: string,
): Promise<void> {
  await page.goto(`${baseUrl}/hosts`);
  await page.waitForURL(/\/login\?next=/);
  if (screenshot) await shot(page, screenshot);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${baseUrl}/hosts`, { timeout: 10_000 }).catch(async (e: unknown) => {
    const why = (await page.locator('.flash, h1 + p, main p').allTextContents()).join(' | ');
    throw new Error(`sign-in did not reach /hosts (page: ${page.url()}: ${why})`, { cause: e });
  });
}

export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = `${SCREENSHOT_DIR}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Seconds shown by a countdown cell (`1h 02m 03s`, `4m 05s`, `9s`). */
export function parseCountdown(text: string): number {
  let s = 0;
  for (const m of text.matchAll(/(\d+)([dhms])/g))
    s += Number(m[1]) * { d: 86400, h: 3600, m: 60, s: 1 }[m[2] as 'd' | 'h' | 'm' | 's'];
  return s;
}
