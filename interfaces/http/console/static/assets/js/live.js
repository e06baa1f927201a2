// The live feed: `GET /stream` over EventSource, authenticated with a single-use ticket from
// `POST /auth/sse-ticket` (the token itself never goes into a URL). A dropped connection is
// reopened with a fresh ticket and `lastEventId`, so the server resumes exactly where it was.

import { api, url } from "./api.js";
import { activeView } from "./view.js";

const BACKOFF_MS = [500, 1000, 2000, 5000, 10000];

export class LiveStream {
  /** `onFrame(type, data)` gets stats/histogram/logs frames; `onState(state)` the connection. */
  constructor({ search = "", startTime = "", onFrame, onState = () => {} }) {
    this.search = search;
    this.startTime = startTime;
    this.onFrame = onFrame;
    this.onState = onState;
    this.lastId = 0;
    this.attempts = 0;
    this.es = null;
    this.timer = null;
    this.stopped = true;
    this.state = "idle";
  }

  /** Connect; a positive `lastEventId` replays every matching log after it first. */
  start(lastEventId = 0) {
    this.stop();
    if (activeView()) {
      this.#state("view"); // an as-of view does not change: nothing to follow
      return;
    }
    this.stopped = false;
    this.lastId = lastEventId;
    this.#open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.es) this.es.close();
    this.es = null;
    this.#state("idle");
  }

  #state(state) {
    if (this.state === state) return;
    this.state = state;
    this.onState(state);
  }

  async #open() {
    this.#state("connecting");
    let ticket;
    try {
      ({ ticket } = await api("/auth/sse-ticket", { method: "POST" }));
    } catch (e) {
      if (e.status !== 401) this.#retry(); // 401: the session ended, the app signs out
      return;
    }
    if (this.stopped) return;
    const query = { ticket, search: this.search, start_time: this.startTime, lastEventId: this.lastId || "" };
    const es = new EventSource(url("/stream", query));
    this.es = es;
    es.addEventListener("message", (ev) => this.#message(es, ev));
    es.addEventListener("error", (ev) => this.#error(es, ev));
  }

  #message(es, ev) {
    if (es !== this.es) return;
    const frame = JSON.parse(ev.data);
    if (frame.type === "stats") {
      this.attempts = 0;
      this.#state("live"); // the server subscribed before it sent this: nothing can slip by
    }
    if (frame.type === "logs" && frame.data.length) {
      this.lastId = Math.max(this.lastId, frame.data[frame.data.length - 1].id);
    }
    this.onFrame(frame.type, frame.data);
  }

  async #error(es, ev) {
    if (es !== this.es) return;
    es.close();
    this.es = null;
    if (this.stopped) return;
    if (ev.data) {
      // `event: error` from the server: the session ended or the stream failed.
      try {
        await api("/auth/me"); // a 401 here ends the session in the app
      } catch (e) {
        if (e.status === 401) return;
      }
    }
    this.#retry();
  }

  #retry() {
    if (this.stopped) return;
    const delay = BACKOFF_MS[Math.min(this.attempts, BACKOFF_MS.length - 1)];
    this.attempts += 1;
    this.#state("reconnecting");
    this.timer = setTimeout(() => this.#open(), delay);
  }
}
