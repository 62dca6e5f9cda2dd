// Takes screenshots of a running lab for review: desktop and 375 px wide, light and dark.
//   node scripts/screenshots.mjs http://127.0.0.1:8080/ docs/screenshots
import { mkdir } from 'node:fs/promises';
import { chromium } from 'playwright-core';

const [url = 'http://127.0.0.1:8080/', outDir = 'docs/screenshots'] = process.argv.slice(2);
await mkdir(outDir, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const shots = [
  { name: 'desktop-light', width: 1280, height: 900, colorScheme: 'light' },
  { name: 'desktop-dark', width: 1280, height: 900, colorScheme: 'dark' },
  { name: 'phone-light', width: 375, height: 812, colorScheme: 'light' },
];
for (const shot of shots) {
  const page = await browser.newPage({
    viewport: { width: shot.width, height: shot.height },
    colorScheme: shot.colorScheme,
  });
  await page.goto(url);
  await page.locator('[data-testid=connection-status][data-state=CONNECTED]').waitFor({ timeout: 15_000 });
  const file = `${outDir}/${shot.name}.png`;
  await page.screenshot({ path: file, fullPage: true });
  console.log(file);
  await page.close();
}
await browser.close();
