// Polling a read the stream has no frames for: GET it again a while after each answer, while the
// page is shown.

import { api, reason } from "./api.js";
import { notice, replace } from "./dom.js";

/** GET `path` now and `ms` after each answer until stopped: `draw(answer)` shows it, a failure
 * shows in `status` until a read succeeds. */
export class Poll {
  constructor(path, ms, status, draw) {
    this.path = path;
    this.ms = ms;
    this.status = status;
    this.draw = draw;
    this.timer = null;
    this.alive = true;
  }

  /** Read now (the next read is `ms` after this one's answer). */
  async refresh() {
    clearTimeout(this.timer);
    try {
      this.draw(await api(this.path));
      replace(this.status);
    } catch (e) {
      replace(this.status, notice("error", reason(e)));
    }
    if (this.alive) this.timer = setTimeout(() => this.refresh(), this.ms);
  }

  stop() {
    this.alive = false;
    clearTimeout(this.timer);
    this.timer = null;
  }
}
