import type { ApplicationFunction } from "probot";
import type { StateStore } from "./store/state-store.js";

/** The Probot app: which event goes to which handler. Wiring only. */
export function ephemeraApp(_store: StateStore): ApplicationFunction {
  return () => {};
}
