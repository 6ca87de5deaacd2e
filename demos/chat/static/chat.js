// The chat page's client. Transport: WebSocket to /chatsocket when the browser has it (or with
// ?transport=websocket), long-polling of /a/message/updates otherwise (or with ?transport=poll).
// The choice shows in the page (text, and <body data-transport>) so tests can check it.
// Messages are shown once each, by id, however they arrive (a poster in long-polling mode
// gets its message twice: from its POST and from its poll).
'use strict';

(function() {
const page = document.body;
const inbox = document.getElementById('inbox');
const form = document.getElementById('messageform');
const input = document.getElementById('message');
const sendButton = document.getElementById('send');
const transportLabel = document.getElementById('transport');
const status = document.getElementById('status');
const maxBodyBytes = Number(page.dataset.maxBodyBytes) || 4096;

// The id of the newest message this page has in server order: where a poll resumes.
let cursor = page.dataset.cursor || null;
let socket = null;

function setTransport(name, label) {
    page.dataset.transport = name;
    transportLabel.textContent = 'transport: ' + label;
}

function showStatus(text) { status.textContent = text; }

function showMessage(message) {
    if (document.getElementById('m' + message.id)) {
        return;
    }
    // The server rendered (and escaped) the fragment; it is parsed, never evaluated.
    const template = document.createElement('template');
    template.innerHTML = message.html.trim();
    inbox.appendChild(template.content);
    inbox.lastElementChild.scrollIntoView({block: 'nearest'});
}

function xsrfToken() { return form.elements._xsrf.value; }

async function postForm(url, fields) {
    fields._xsrf = xsrfToken();
    const response = await fetch(url, {method: 'POST', body: new URLSearchParams(fields)});
    if (!response.ok) {
        throw new Error(response.status + ' ' + response.statusText);
    }
    return response.json();
}

// --- long-polling -------------------------------------------------------------------------

let errorSleepMs = 500;

async function poll() {
    const fields = cursor ? {cursor: cursor} : {};
    try {
        const answer = await postForm('/a/message/updates', fields);
        if (answer.messages.length > 0) {
            cursor = answer.messages[answer.messages.length - 1].id;
        }
        answer.messages.forEach(showMessage);
        errorSleepMs = 500;
        showStatus('');
        setTimeout(poll, 0);
    } catch (error) {
        // Back off (1 s, 2 s, 4 s... at most a minute) while the server is away.
        errorSleepMs = Math.min(errorSleepMs * 2, 60000);
        showStatus(
            'polling failed (' + error.message + '); retrying in ' + errorSleepMs / 1000 + ' s');
        setTimeout(poll, errorSleepMs);
    }
}

function startPolling(reason) {
    setTransport('poll', 'long-polling' + (reason ? ' (' + reason + ')' : ''));
    poll();
}

// --- WebSocket ----------------------------------------------------------------------------

function connect(mayFallBack) {
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    let opened = false;
    socket = new WebSocket(scheme + location.host + '/chatsocket');
    socket.onopen = function() {
        opened = true;
        setTransport('websocket', 'WebSocket');
    };
    socket.onmessage = function(event) {
        const message = JSON.parse(event.data);
        cursor = message.id;  // sockets deliver in server order
        showMessage(message);
    };
    socket.onclose = function(event) {
        socket = null;
        if (mayFallBack && !opened) {
            startPolling('WebSocket refused');
            return;
        }
        setTransport('none', 'disconnected');
        showStatus(
            'connection closed (' + event.code + (event.reason ? ': ' + event.reason : '') +
            '); reload the page to reconnect');
    };
}

// --- sending ------------------------------------------------------------------------------

async function send(text) {
    if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({body: text}));
        return;
    }
    // Long-polling, or a socket not open yet: the server answers with the message.
    showMessage(await postForm('/a/message/new', {body: text}));
}

form.addEventListener('submit', async function(event) {
    event.preventDefault();
    const text = input.value;
    if (text.trim() === '') {
        return;
    }
    if (new TextEncoder().encode(text).length > maxBodyBytes) {
        showStatus('message too long (at most ' + maxBodyBytes + ' bytes)');
        return;
    }
    sendButton.disabled = true;
    try {
        await send(text);
        input.value = '';
        showStatus('');
    } catch (error) {
        showStatus('sending failed (' + error.message + ')');
    } finally {
        sendButton.disabled = false;
        input.focus();
    }
});

const requested = page.dataset.requestedTransport;
if (requested === 'poll' || (requested === 'auto' && !('WebSocket' in window))) {
    startPolling(requested === 'poll' ? 'requested' : 'no WebSocket in this browser');
} else {
    connect(requested === 'auto');
}
})();
