// live.js: the page's one event stream. While a session is open, one loop waits on
// event.next and hands every batch to the subscribers; views re-read what an event
// touches instead of polling lists. A cursor the server no longer knows (fault 5) starts
// the stream again and tells subscribers to re-read everything ({kind: "resync"}).
import { RpcFault, session } from "./rpc.js";

const subscribers = new Set();
let running = null;

/** Call `fn(events)` for every batch of events; returns the unsubscribe function. */
export function subscribe(fn) {
  subscribers.add(fn);
  running ??= loop().finally(() => (running = null));
  return () => subscribers.delete(fn);
}

const publish = (events) => {
  for (const fn of [...subscribers]) {
    try {
      fn(events);
    } catch (e) {
      console.warn("event subscriber failed", e);
    }
  }
};

async function loop() {
  let cursor = "";
  const token = session.token;
  while (session.token && session.token === token && subscribers.size > 0) {
    try {
      const batch = await session.rpc("event.next", cursor, 25);
      cursor = batch.cursor;
      if (batch.events.length) publish(batch.events);
    } catch (e) {
      if (e instanceof RpcFault && e.code === 1) return;
      if (e instanceof RpcFault && e.code === 5) {
        cursor = "";
        publish([{ kind: "resync" }]);
      } else {
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  }
}
