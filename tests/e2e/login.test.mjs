// Logging in and out: a supervisor lands on the unit tree, a wrong password is told apart,
// English can be switched on, and logging out returns to the login form.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEMO_LOGINS, allowHttpErrors, assertNoErrors, demoAndBrowser, gotoRoute, login, newPage, waitForPage,
} from './harness.mjs';

const session = demoAndBrowser();

// The tree as drawn: [code, level] of every node.
function treeNodes(page) {
  return page.getByTestId('unit-node').evaluateAll((els) => els.map((e) => [e.dataset.unitCode, e.dataset.level]));
}

test('a supervisor logs in and lands on the units page with the county tree', async () => {
  const page = await newPage(session.browser);
  try {
    const { username, password } = DEMO_LOGINS.supervisor;
    assert.equal(await login(page, session.demo.url, username, password), 'units', 'a supervisor should land on the units page');
    assert.match(page.url(), /#\/units/, 'the address should be the units route');
    // The tree is drawn once the compliance reads are in: the county open, its 3 townships.
    await page.getByTestId('summary-cards').waitFor({ timeout: 20_000 });
    const nodes = await treeNodes(page);
    assert.deepEqual(nodes, [['341322', 'county'], ['341322100', 'township'], ['341322101', 'township'], ['341322102', 'township']],
      'the tree should show 萧县 open with its 3 townships');
    assert.match(await page.getByTestId('unit-tree').innerText(), /萧县[\s\S]*龙城镇/, 'the tree should name 萧县 and 龙城镇');
    // Opening a township shows its 4 villages, each linking to its map, with its cadres.
    await page.locator('[data-unit-code="341322100"] > .node-row [data-testid=unit-toggle]').click();
    const villages = page.locator('[data-unit-code="341322100"] [data-testid=unit-node][data-level=village]');
    await villages.nth(3).waitFor();
    assert.equal(await villages.count(), 4, '龙城镇 should have 4 villages');
    const first = page.locator('[data-unit-code="341322100201"]');
    assert.match(await first.getByTestId('unit-map-link').getAttribute('href'), /^#\/village\/341322100201\?date=\d{4}-\d{2}-\d{2}$/,
      'a village should link to its map');
    assert.equal(await first.getByTestId('person-link').count(), 2, '城东村 should list its 2 cadres');
    // The summary of the selected county lists the cadres with their compliance.
    const rows = page.locator('[data-testid=compliance-table] tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 24, 'the county summary should list the 24 demo cadres');
    assertNoErrors(page, 'the units page after login');
  } finally {
    await page.context().close();
  }
});

test('a wrong password is refused with a readable error and no session', async () => {
  const page = await newPage(session.browser);
  try {
    const refused = allowHttpErrors(page, 401, '/v1/auth/login');
    await page.goto(session.demo.url, { waitUntil: 'domcontentloaded' });
    await waitForPage(page, 'login');
    await page.getByTestId('login-username').fill(DEMO_LOGINS.supervisor.username);
    await page.getByTestId('login-password').fill('not-the-password');
    const answer = page.waitForResponse((r) => r.url().endsWith('/v1/auth/login'));
    await page.getByTestId('login-submit').click();
    assert.equal((await answer).status(), 401, 'the server should answer a wrong password with 401');
    const error = page.getByTestId('login-error');
    await error.waitFor({ state: 'visible' });
    assert.equal((await error.innerText()).trim(), '用户名或密码不正确。', 'the login form should say the username or password is wrong');
    assert.equal(await page.getByTestId('login-password').inputValue(), '', 'the wrong password should be cleared from the field');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('ft.token')), null, 'no token should be kept after a refused login');
    await waitForPage(page, 'login');
    assert.equal((await refused.waitFor(1)).length, 1, `exactly the one 401 of the login should be logged, saw ${JSON.stringify(refused.seen())}`);
    // An empty form is refused by the page itself, without asking the server.
    await page.getByTestId('login-username').fill('');
    await page.getByTestId('login-submit').click();
    await page.getByText('请输入用户名和密码。').waitFor();
    assertNoErrors(page, 'the login page after a wrong password');
  } finally {
    await page.context().close();
  }
});

test('the language switch turns the console into English and back', async () => {
  const page = await newPage(session.browser);
  try {
    const { username, password } = DEMO_LOGINS.supervisor;
    await login(page, session.demo.url, username, password);
    const heading = page.locator('[data-page=units] h1');
    await heading.waitFor();
    assert.equal((await heading.innerText()).trim(), '单位与本月达标情况', 'the units page starts in Chinese');
    assert.equal((await page.getByTestId('nav-units').innerText()).trim(), '单位');
    const toggle = page.getByTestId('lang-switch');
    assert.equal((await toggle.innerText()).trim(), 'English', 'the switch offers English');
    await toggle.click();
    await page.locator('[data-page=units] h1', { hasText: 'Units and this month’s compliance' }).waitFor();
    assert.equal((await page.getByTestId('nav-units').innerText()).trim(), 'Units', 'the menu should be in English');
    assert.equal((await page.getByTestId('nav-bulletin').innerText()).trim(), 'Bulletin', 'the menu should be in English');
    assert.equal((await page.getByTestId('logout').innerText()).trim(), 'Log out', 'the logout button should be in English');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en', 'the document language should become en');
    assert.equal((await page.getByTestId('lang-switch').innerText()).trim(), '中文', 'the switch now offers Chinese');
    // The choice is kept: a reload stays in English.
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.locator('[data-page=units] h1', { hasText: 'Units and this month’s compliance' }).waitFor();
    await page.getByTestId('lang-switch').click();
    await page.locator('[data-page=units] h1', { hasText: '单位与本月达标情况' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
    assertNoErrors(page, 'the units page while switching language');
  } finally {
    await page.context().close();
  }
});

test('logging out returns to the login form and forgets the session', async () => {
  const page = await newPage(session.browser);
  try {
    const { username, password } = DEMO_LOGINS.supervisor;
    await login(page, session.demo.url, username, password);
    // Let the units page finish loading first (its reads would otherwise be refused half-way).
    await page.getByTestId('summary-cards').waitFor({ timeout: 20_000 });
    const token = await page.evaluate(() => sessionStorage.getItem('ft.token'));
    assert.ok(token, 'a token should be kept in sessionStorage while signed in');
    const out = page.waitForResponse((r) => r.url().endsWith('/v1/auth/logout'));
    await page.getByTestId('logout').click();
    assert.ok([200, 204].includes((await out).status()), 'the server should accept the logout');
    await waitForPage(page, 'login');
    assert.match(page.url(), /#\/login$/, 'the address should be the login route');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('ft.token')), null, 'the token should be dropped');
    assert.equal(await page.getByTestId('logout').count(), 0, 'no logout button once signed out');
    // The old token is given back: the server refuses it now.
    const res = await fetch(`${session.demo.url}/v1/units`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 401, 'the server should refuse the token given back at logout');
    // A page that needs a login sends back to the form.
    await gotoRoute(page, '#/units', 'login');
    assertNoErrors(page, 'the login page after logout');
  } finally {
    await page.context().close();
  }
});
