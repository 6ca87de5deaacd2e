// End-to-end test of the chat demo in a real browser: Debian's headless chromium, driven by
// playwright-core. Starts the `chat` program on a free loopback port, opens two users' pages,
// and checks that what one types appears in the other's page — over WebSocket, over
// long-polling (?transport=poll), and between one of each — that the page shows which transport
// it uses, that hostile markup stays text, and that the server's history reaches a new page.
//
//   node chat.spec.mjs --chat /path/to/chat [--artifacts DIR]
//
// Exits 0 on success, 1 on any failure or after a global timeout of 60 s; the chat server and
// the browser are stopped on every exit path. A screenshot is saved to DIR (default:
// ./artifacts next to this file) and its path printed.

import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {mkdirSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

const GLOBAL_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = 20_000;
const here = path.dirname(fileURLToPath(import.meta.url));

function option(name, fallback) {
    const at = process.argv.indexOf('--' + name);
    if (at >= 0 && at + 1 < process.argv.length) {
        return process.argv[at + 1];
    }
    return fallback;
}

const chatBinary = option('chat', process.env.GALE_CHAT_BINARY);
const artifacts = option('artifacts', path.join(here, 'artifacts'));
const backend = process.env.GALE_IO_BACKEND || 'default';

let server = null;
let browser = null;

// Stops what this script started; safe to call more than once, from any exit path.
function killServer() {
    if (server && server.exitCode === null && server.signalCode === null) {
        server.kill('SIGKILL');
    }
}
process.on('exit', killServer);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
        console.error(`chat.spec: FAILED: interrupted by ${signal}`);
        process.exit(1);  // runs killServer; chromium exits when our pipe to it closes
    });
}

const watchdog = setTimeout(() => {
    console.error(`chat.spec: FAILED: still running after ${GLOBAL_TIMEOUT_MS / 1000} s`);
    killServer();
    process.exit(1);  // the browser's pipe closes with us, and chromium exits with it
}, GLOBAL_TIMEOUT_MS);

// Starts `chat --port 0` and resolves with its base URL once it prints the port it bound.
function startServer() {
    return new Promise((resolve, reject) => {
        server = spawn(chatBinary, ['--port', '0', '--address', '127.0.0.1'], {
            stdio: ['ignore', 'pipe', 'inherit'],
        });
        let output = '';
        server.stdout.setEncoding('utf8');
        server.stdout.on('data', (text) => {
            output += text;
            const match = /chat listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(output);
            if (match) {
                resolve(match[1]);
            }
        });
        server.on('error', reject);
        server.on(
            'exit', (code, signal) => reject(new Error(`chat exited early (${code ?? signal})`)));
    });
}

// SIGTERM asks for a graceful shutdown: the server must exit by itself, with status 0.
function stopServer() {
    return new Promise((resolve, reject) => {
        if (server.exitCode !== null || server.signalCode !== null) {
            reject(
                new Error(`chat died during the test (${server.exitCode ?? server.signalCode})`));
            return;
        }
        const timer =
            setTimeout(() => reject(new Error('chat did not exit within 10 s of SIGTERM')), 10_000);
        server.once('exit', (code, signal) => {
            clearTimeout(timer);
            code === 0 ? resolve() :
                         reject(new Error(`chat exited with ${code ?? signal} on SIGTERM`));
        });
        server.kill('SIGTERM');
    });
}

// A user: a fresh browser context (its own cookies, so its own XSRF token) with one page.
async function openUser(base, query, pageErrors) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(base + '/' + query);
    return page;
}

async function expectTransport(page, transport, label) {
    await page.locator(`body[data-transport="${transport}"]`).waitFor();
    assert.match(await page.locator('#transport').innerText(), label);
}

async function say(page, text) {
    await page.fill('#message', text);
    await page.press('#message', 'Enter');
    // The input is cleared once the server took the message.
    await page.waitForFunction(() => document.getElementById('message').value === '');
}

// Waits until `text` is in the page's inbox, and checks it is there exactly once.
async function expectMessage(page, text) {
    const matching = page.locator('#inbox .message').filter({hasText: text});
    await matching.first().waitFor();
    assert.equal(await matching.count(), 1, `"${text}" shown more than once`);
}

async function run() {
    assert.ok(chatBinary, 'pass the chat program with --chat PATH (or GALE_CHAT_BINARY)');
    const base = await startServer();
    console.log(`chat.spec: chat at ${base} (backend ${backend})`);
    browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: [
            '--no-sandbox', '--disable-gpu', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', '--no-first-run', '--no-proxy-server'
        ],
    });
    const pageErrors = [];

    // 1. Both over WebSocket (the default where the browser has it).
    const alice = await openUser(base, '', pageErrors);
    const bob = await openUser(base, '', pageErrors);
    await expectTransport(alice, 'websocket', /WebSocket/);
    await expectTransport(bob, 'websocket', /WebSocket/);
    await say(alice, 'hello from alice over WebSocket');
    await expectMessage(bob, 'hello from alice over WebSocket');
    await expectMessage(alice, 'hello from alice over WebSocket');
    console.log('chat.spec: ok: WebSocket to WebSocket');

    // 2. Both long-polling (forced): the poster sees its message once, though it gets it twice.
    const carol = await openUser(base, '?transport=poll', pageErrors);
    const dave = await openUser(base, '?transport=poll', pageErrors);
    await expectTransport(carol, 'poll', /long-polling/);
    await expectTransport(dave, 'poll', /long-polling/);
    await say(carol, 'hello from carol over long-polling');
    await expectMessage(dave, 'hello from carol over long-polling');
    await expectMessage(carol, 'hello from carol over long-polling');
    console.log('chat.spec: ok: long-polling to long-polling');

    // 3. Across transports, both ways.
    await say(dave, 'from a poller to the sockets');
    await expectMessage(alice, 'from a poller to the sockets');
    await say(bob, 'from a socket to the pollers');
    await expectMessage(carol, 'from a socket to the pollers');
    await expectMessage(dave, 'from a socket to the pollers');
    console.log('chat.spec: ok: across transports');

    // 4. Markup in a message is shown as text, never run or rendered.
    const hostile = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> & co';
    await say(alice, hostile);
    await expectMessage(dave, hostile);
    for (const page of [alice, bob, carol, dave]) {
        assert.equal(await page.locator('#inbox img, #inbox script').count(), 0);
        assert.equal(await page.evaluate(() => window.pwned), undefined);
    }
    console.log('chat.spec: ok: markup stays text');

    // 5. A new page gets the history from the server, in order.
    const erin = await openUser(base, '', pageErrors);
    const history = await erin.locator('#inbox .message').allInnerTexts();
    assert.deepEqual(history, [
        'hello from alice over WebSocket', 'hello from carol over long-polling',
        'from a poller to the sockets', 'from a socket to the pollers', hostile
    ]);
    console.log('chat.spec: ok: history in a new page');

    mkdirSync(artifacts, {recursive: true});
    const screenshot = path.join(artifacts, `chat-${backend}.png`);
    await dave.screenshot({path: screenshot, fullPage: true});
    console.log(`chat.spec: screenshot ${screenshot}`);

    assert.deepEqual(pageErrors, [], 'errors in the pages');
    await browser.close();
    browser = null;
    await stopServer();
}

try {
    await run();
    console.log('chat.spec: passed');
    clearTimeout(watchdog);
} catch (error) {
    console.error('chat.spec: FAILED:', error);
    process.exitCode = 1;
    clearTimeout(watchdog);
    killServer();
    if (browser) {
        await browser.close().catch(() => {});
    }
}
