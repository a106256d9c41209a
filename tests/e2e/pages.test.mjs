// Every page of the console, on a desktop (1280×800) and on a phone (390×844): it renders its
// root and its data without console errors, shows no error box, and on the phone does not
// scroll sideways. The login form works with the keyboard alone. With FIELDTRAIL_SCREENSHOTS=1
// this file writes docs/screenshots/<page>.png (desktop) and <page>-phone.png (login, units).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEMO_LOGINS, addDays, apiGet, apiLogin, assertNoErrors, countyDateOf, countyNow, demoAndBrowser, demoMonth,
  findPerson, gotoRoute, horizontalOverflow, login, newPage, screenshot, settle, waitForPage,
} from './harness.mjs';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const VILLAGE = '341322100201';

let pages; // [{name, hash, page, ready: [testid selectors that must show], tab?}]

const session = demoAndBrowser(async () => {
  // What each page shows, chosen from the demo through the API.
  const token = await apiLogin(session.demo.url, DEMO_LOGINS.admin);
  const month = demoMonth();
  const today = countyNow().date;
  // The village's busiest recent day, one with a record outside the village if there is one.
  const text = await apiGet(session.demo.url, token, `/v1/units/${VILLAGE}/records/export`, { query: { from: addDays(today, -14), to: today, format: 'ndjson' }, text: true });
  const perDay = new Map(); // date -> [records with a position, of which outside]
  for (const line of text.split('\n').filter((l) => l.trim())) {
    const r = JSON.parse(line);
    if (!r.position) continue;
    const [n, out] = perDay.get(countyDateOf(r.captured_at)) ?? [0, 0];
    perDay.set(countyDateOf(r.captured_at), [n + 1, out + (r.verdict?.geo === 'outside' ? 1 : 0)]);
  }
  const rank = ([date, [n, out]]) => [out > 0 ? 1 : 0, n, date];
  const [day] = [...perDay].sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    return y[0] - x[0] || y[1] - x[1] || y[2].localeCompare(x[2]);
  })[0] ?? [addDays(today, -1)];
  const cadre = await findPerson(session.demo.url, token, 'cadre01');
  const { draws } = await apiGet(session.demo.url, token, '/v1/spot-checks/draws', { query: { unit: '341322', from: addDays(today, -7) } });
  const draw = draws.find((d) => d.population === 'cadres') ?? draws[0];
  assert.ok(cadre && draw, 'the demo should have cadre01 and a spot-check draw');
  pages = [
    { name: 'units', hash: `#/units?month=${month}`, page: 'units', ready: ['summary-cards', 'unit-tree'] },
    { name: 'village', hash: `#/village/${VILLAGE}?date=${day}`, page: 'village', ready: ['map-records-table', 'map-legend'], markers: true },
    { name: 'cadre', hash: `#/cadre/${cadre.id}?month=${month}`, page: 'cadre', ready: ['calendar', 'cadre-records-table', 'archive'] },
    { name: 'spot-checks', hash: `#/spot-checks?unit=341322&draw=${draw.id}`, page: 'spot-checks', ready: ['draw-list', 'draw-facts', 'draw-sample'] },
    { name: 'bulletin', hash: `#/bulletin?unit=341322&month=${month}`, page: 'bulletin', ready: ['bulletin-table', 'bulletin-chart'] },
    { name: 'alerts', hash: '#/alerts?unit=341322&status=open', page: 'alerts', ready: ['alerts-table'] },
    { name: 'admin', hash: '#/admin?tab=people', page: 'admin', tab: 'people', ready: ['people-table'] },
    { name: 'admin-unit', hash: `#/admin?tab=unit&unit=${VILLAGE}`, page: 'admin', tab: 'unit', ready: ['assignments-table', 'households-table', 'pairings-table'] },
    { name: 'admin-import', hash: '#/admin?tab=import', page: 'admin', tab: 'import', ready: ['import-form'] },
  ];
});

// Opens one page and waits until it shows its data; answers what a failure should mention.
async function visit(page, spec) {
  const root = await gotoRoute(page, spec.hash, spec.page);
  if (spec.tab) assert.equal(await root.getAttribute('data-tab'), spec.tab, `${spec.name}: the admin page should open the ${spec.tab} tab`);
  for (const testid of spec.ready) {
    try {
      await page.getByTestId(testid).first().waitFor({ state: 'visible', timeout: 20_000 });
    } catch {
      const text = (await root.innerText().catch(() => '')).replace(/\s+/g, ' ').slice(0, 300);
      assert.fail(`${spec.name}: [data-testid=${testid}] should be visible on ${spec.hash}; the page shows: ${text}`);
    }
  }
  if (spec.markers) await page.locator('path[data-testid=record-marker]').first().waitFor({ state: 'attached' });
  // Let the page's trailing reads (names, households, readers) finish before judging it.
  assert.ok(await settle(page), `${spec.name}: the page's requests should be done within 10 s`);
  const errorBoxes = await page.locator('main .error[role=alert]:visible').allInnerTexts();
  assert.deepEqual(errorBoxes, [], `${spec.name}: no error box should show on ${spec.hash}`);
  assert.ok(await root.isVisible(), `${spec.name}: [data-page=${spec.page}] should be visible`);
  return root;
}

test('every page renders without errors at 1280×800', async (t) => {
  const page = await newPage(session.browser, { viewport: DESKTOP });
  try {
    await page.goto(session.demo.url, { waitUntil: 'domcontentloaded' });
    await waitForPage(page, 'login');
    await screenshot(page, 'login');
    await login(page, session.demo.url, DEMO_LOGINS.admin.username, DEMO_LOGINS.admin.password);
    for (const spec of pages) {
      await t.test(spec.name, async () => {
        await visit(page, spec);
        await page.evaluate(() => window.scrollTo(0, 0));
        await screenshot(page, spec.name, { fullPage: false });
        assertNoErrors(page, `${spec.name} (${spec.hash}) at 1280×800`);
      });
    }
  } finally {
    await page.context().close();
  }
});

test('every page fits a 390×844 phone without sideways scrolling', async (t) => {
  const page = await newPage(session.browser, { viewport: PHONE });
  try {
    await page.goto(session.demo.url, { waitUntil: 'domcontentloaded' });
    await waitForPage(page, 'login');
    const loginFit = await horizontalOverflow(page);
    assert.ok(!loginFit.overflows, `login: the page is ${loginFit.scrollWidth} px wide on a ${loginFit.innerWidth} px phone: ${loginFit.widest.join(', ')}`);
    await screenshot(page, 'login-phone');
    await login(page, session.demo.url, DEMO_LOGINS.admin.username, DEMO_LOGINS.admin.password);
    // The menu is a drawer behind a toggle on a phone.
    const toggle = page.getByTestId('menu-toggle');
    assert.ok(await toggle.isVisible(), 'the menu toggle should show on a phone');
    assert.equal(await page.getByTestId('nav-units').isVisible(), false, 'the menu should be folded away on a phone');
    await toggle.click();
    await page.getByTestId('nav-bulletin').waitFor({ state: 'visible' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    await toggle.click();
    for (const spec of pages) {
      await t.test(spec.name, async () => {
        await visit(page, spec);
        const fit = await horizontalOverflow(page);
        assert.ok(!fit.overflows, `${spec.name}: the page is ${fit.scrollWidth} px wide on a ${fit.innerWidth} px phone; sticking out: ${fit.widest.join(', ') || '?'}`);
        if (spec.name === 'units') {
          await page.evaluate(() => window.scrollTo(0, 0));
          await screenshot(page, 'units-phone', { fullPage: false });
        }
        assertNoErrors(page, `${spec.name} (${spec.hash}) at 390×844`);
      });
    }
  } finally {
    await page.context().close();
  }
});

test('the login form can be filled and submitted with the keyboard alone', async () => {
  const page = await newPage(session.browser, { viewport: DESKTOP });
  try {
    await page.goto(session.demo.url, { waitUntil: 'domcontentloaded' });
    await waitForPage(page, 'login');
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName);
    // The form puts the focus in the username field; from the top of the page Tab reaches it too.
    await page.getByTestId('login-username').waitFor();
    assert.equal(await focused(), 'login-username', 'the login page should put the focus in the username field');
    await page.evaluate(() => document.activeElement.blur());
    const stops = [];
    for (let i = 0; i < 8 && (await focused()) !== 'login-username'; i += 1) {
      await page.keyboard.press('Tab');
      stops.push(await focused());
    }
    assert.equal(await focused(), 'login-username', `Tab should reach the username field; it went through ${stops.join(' → ')}`);
    await page.keyboard.type(DEMO_LOGINS.supervisor.username);
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'login-password', 'Tab should go from the username to the password');
    await page.keyboard.type(DEMO_LOGINS.supervisor.password);
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'login-submit', 'Tab should go from the password to the login button');
    await page.keyboard.press('Enter');
    await waitForPage(page, 'units');
    // Once the page has loaded the focus moves to its heading (for screen readers).
    await page.getByTestId('summary-cards').waitFor({ timeout: 20_000 });
    await page.waitForFunction(() => document.activeElement?.matches('[data-page=units] h1'), null, { timeout: 5_000 })
      .catch(async () => assert.fail(`after the login the focus should move to the units page heading, it is on ${await focused()}`));
    assertNoErrors(page, 'the keyboard login');
  } finally {
    await page.context().close();
  }
});
