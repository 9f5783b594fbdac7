// The key lifecycle as mirroring merges it: state only moves forward, whatever order servers learn
// of concurrent transitions in. A state is three facts, each of which only grows: how far the object
// got along Pre-Active → Active → Deactivated, whether it was compromised, whether it was destroyed.
// Merging takes the larger of each (a join: commutative, associative, idempotent), and the state is
// read back from the facts: Destroyed and Compromised together are Destroyed Compromised (KMIP 1.4
// §3.22 transitions 8 and 10 meet there), Destroyed wins over any other concurrent change,
// Compromised over Deactivated.
import { Enum } from '../kmip/tables.js';

const State = Enum.State;

export interface LifecycleFacts {
  /** 1 Pre-Active, 2 Active, 3 Deactivated: the furthest step reached. */
  readonly phase: 1 | 2 | 3;
  readonly compromised: boolean;
  readonly destroyed: boolean;
}

/** The facts a state asserts (a Compromised or Destroyed object's phase is unknown: the least). */
export function factsOf(state: number): LifecycleFacts {
  switch (state) {
    case State.PreActive:
      return { phase: 1, compromised: false, destroyed: false };
    case State.Active:
      return { phase: 2, compromised: false, destroyed: false };
    case State.Deactivated:
      return { phase: 3, compromised: false, destroyed: false };
    case State.Compromised:
      return { phase: 1, compromised: true, destroyed: false };
    case State.Destroyed:
      return { phase: 1, compromised: false, destroyed: true };
    case State.DestroyedCompromised:
      return { phase: 1, compromised: true, destroyed: true };
    default:
      throw new Error(`${state} is not a KMIP State`);
  }
}

export function joinFacts(a: LifecycleFacts, b: LifecycleFacts): LifecycleFacts {
  return {
    phase: a.phase >= b.phase ? a.phase : b.phase,
    compromised: a.compromised || b.compromised,
    destroyed: a.destroyed || b.destroyed,
  };
}

/** The KMIP State the facts make. */
export function stateOf(f: LifecycleFacts): number {
  if (f.destroyed) return f.compromised ? State.DestroyedCompromised : State.Destroyed;
  if (f.compromised) return State.Compromised;
  return f.phase === 1 ? State.PreActive : f.phase === 2 ? State.Active : State.Deactivated;
}

/** The state of two states merged: for a State received while another was set here. */
export const joinStates = (a: number, b: number): number => stateOf(joinFacts(factsOf(a), factsOf(b)));
