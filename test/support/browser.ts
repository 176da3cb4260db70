import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Debian's chromium driven by playwright-core (Playwright's own browser
 * download does not work offline). CHROMIUM_PATH overrides where it is;
 * .ci/run installs it. The flags keep it from reaching for the network it
 * does not have (background services, QUIC, component updates) and make it
 * run as root in a container (no sandbox, no GPU). Each launch gets a fresh
 * profile (Playwright makes a temporary user-data dir and removes it).
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const SCREENSHOT_DIR = path.resolve(__dirname, '../../test-artifacts/screenshots');

export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`no chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

export async function newContext(browser: Browser, colorScheme: 'light' | 'dark' = 'light'): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme, timezoneId: 'Europe/Paris', locale: 'en-GB' });
}

/** A full-page screenshot under test-artifacts/screenshots/<name>-<scheme>.png. */
export async function screenshot(page: Page, name: string, scheme: 'light' | 'dark'): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}-${scheme}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
