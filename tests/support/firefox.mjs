// Starts Debian's firefox-esr through WebDriver (geckodriver, installed from crates.io by
// build.sh) with selenium-webdriver, and the static server over site/. Playwright cannot drive a
// stock Firefox (its stock-Firefox channel fails at newContext), so WebDriver it is.
import { Builder } from 'selenium-webdriver';
import firefox from 'selenium-webdriver/firefox.js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { serve } from './serve.mjs';
import { SITE } from './browser.mjs';

/** A Firefox session and a server over `root` (site/ by default); call `close()` when done. */
export async function startFirefox({ root = SITE } = {}) {
  const server = await serve({ root });
  const options = new firefox.Options()
    .setBinary(process.env.FIREFOX ?? '/usr/bin/firefox-esr')
    .addArguments('-headless')
    // Firefox would otherwise reach out to update, telemetry and captive-portal services that
    // this machine (and an offline reader) cannot reach.
    .setPreference('app.update.enabled', false)
    .setPreference('network.captive-portal-service.enabled', false)
    .setPreference('network.connectivity-service.enabled', false)
    .setPreference('datareporting.policy.dataSubmissionEnabled', false)
    .setPreference('toolkit.telemetry.enabled', false)
    .setPreference('browser.safebrowsing.update.enabled', false);
  const service = new firefox.ServiceBuilder(process.env.GECKODRIVER ?? join(homedir(), '.cargo', 'bin', 'geckodriver'));
  const driver = await new Builder().forBrowser('firefox').setFirefoxOptions(options).setFirefoxService(service).build();
  await driver.manage().setTimeouts({ script: 180_000, pageLoad: 60_000 });
  return {
    url: server.url,
    driver,
    async close() {
      await driver.quit();
      await server.close();
    },
  };
}

/**
 * Runs `expression` (the source of an expression that gives a Promise) in the page and returns
 * what it resolves to; a rejection in the page becomes a thrown Error here.
 */
export async function runInPage(driver, expression) {
  const r = await driver.executeAsyncScript(
    `const done = arguments[arguments.length - 1];
     (${expression}).then(
       (value) => done({ value }),
       (e) => done({ error: String(e) + '\\n' + ((e && e.stack) || '') }),
     );`,
  );
  if (r.error) throw new Error(`in Firefox: ${r.error}`);
  return r.value;
}
