/** The playground page's entry: wires the form, the settings and the Chat together. */
import { BondClient, BondError, type Transport } from "../../client/index.ts";
import { Chat } from "./chat.ts";
import { byId } from "./dom.ts";
import { loadApiKey, loadTransport, saveApiKey, saveTransport } from "./store.ts";

// The API lives where the page does (a path prefix such as /bond/ is kept).
const baseUrl = new URL(".", document.baseURI).href;

const form = byId("composer", HTMLFormElement);
const prompt = byId("prompt", HTMLTextAreaElement);
const send = byId("send", HTMLButtonElement);
const stop = byId("stop", HTMLButtonElement);
const newChat = byId("new-chat", HTMLButtonElement);
const keyRow = byId("api-key-row", HTMLDivElement);
const keyInput = byId("api-key", HTMLInputElement);
const status = byId("status", HTMLParagraphElement);
const serverInfo = byId("server-info", HTMLParagraphElement);
const transportInputs = Array.from(document.querySelectorAll<HTMLInputElement>('input[name="transport"]'));

function currentTransport(): Transport {
  return transportInputs.find((i) => i.checked)?.value === "ws" ? "ws" : "sse";
}

function client(): BondClient {
  const apiKey = keyInput.value.trim();
  return new BondClient({ baseUrl, apiKey: apiKey === "" ? undefined : apiKey, transport: currentTransport() });
}

function showKeyField(focus: boolean): void {
  keyRow.hidden = false;
  if (focus) keyInput.focus();
}

const chat = new Chat(byId("log", HTMLElement), byId("empty", HTMLParagraphElement), {
  client,
  busy(busy) {
    send.disabled = busy;
    stop.disabled = !busy;
    // A disabled button drops focus to <body>: hand it back to the message box.
    if (!busy && document.activeElement === stop) prompt.focus();
  },
  announce(message) {
    status.textContent = message;
  },
  needKey() {
    authOn = true;
    acceptedKey = null;
    showKeyField(true);
  },
});

/** From /health: whether the server wants an API key. */
let authOn = false;
/** The last key the server accepted, so it is checked once, not before every question. */
let acceptedKey: string | null = null;

/**
 * With auth on, checks the key over HTTP before a run: a browser cannot see why a WebSocket
 * upgrade was refused (it just sees the socket close), so a bad key would look like a dead network.
 */
async function keyReady(): Promise<boolean> {
  if (!authOn) return true;
  const key = keyInput.value.trim();
  const refuse = (message: string): false => {
    status.textContent = message;
    showKeyField(true);
    return false;
  };
  if (key === "") return refuse("This server needs an API key: enter it above, then send again.");
  if (key === acceptedKey) return true;
  try {
    await client().session("playground-key-check");
  } catch (err) {
    if (err instanceof BondError && err.status === 401) return refuse("The server did not accept this API key.");
    // Anything else (404: no such session) means the key got through.
  }
  acceptedKey = key;
  return true;
}

let submitting = false;
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = prompt.value.trim();
  if (text === "" || chat.running || submitting) return;
  submitting = true;
  void keyReady()
    .then((ready) => {
      if (!ready || chat.running) return;
      prompt.value = "";
      chat.send(text);
    })
    .finally(() => {
      submitting = false;
    });
});

prompt.addEventListener("keydown", (event) => {
  // Enter sends, Shift+Enter is a new line; an IME composing text keeps its Enter.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && chat.running) {
    event.preventDefault();
    chat.stop();
  }
});

stop.addEventListener("click", () => chat.stop());

newChat.addEventListener("click", () => {
  chat.reset();
  prompt.focus();
});

const savedTransport = loadTransport();
for (const input of transportInputs) {
  input.checked = input.value === savedTransport;
  input.addEventListener("change", () => saveTransport(currentTransport()));
}

keyInput.value = loadApiKey();
keyInput.addEventListener("input", () => saveApiKey(keyInput.value.trim()));
if (keyInput.value !== "") showKeyField(false);

// Keep the reload state current when the tab is hidden or the page goes away.
addEventListener("pagehide", () => chat.freeze());
// Back from the back/forward cache, the page's streams are gone: load afresh, which resumes them.
addEventListener("pageshow", (event: PageTransitionEvent) => {
  if (event.persisted) location.reload();
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") chat.saveNow();
});

async function describeServer(): Promise<void> {
  try {
    const health = await client().health();
    const model = typeof health.model === "string" ? ` · model ${health.model}` : "";
    const version = typeof health.version === "string" ? ` · v${health.version}` : "";
    serverInfo.textContent = `Agent ${health.agent_name}${model}${version}`;
    authOn = health.auth === true;
    if (authOn) showKeyField(false);
  } catch {
    serverInfo.textContent = "The server did not answer /health.";
  }
}

void describeServer();
chat.restore();
document.documentElement.dataset.ready = "true";
