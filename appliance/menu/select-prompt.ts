// The menu's list prompt: ↑↓ move, Enter chooses what is highlighted, nothing else does. Unlike
// @inquirer/select it has no digit shortcuts and no type-to-search (a pasted "10" jumped to the tenth
// entry), Enter right after typed text chooses nothing (a stray paste with a line break runs no
// entry), and keys that arrive after the choice are ignored (they used to move the highlight, so the
// echoed answer named another entry than the one that ran).
import { createPrompt, isBackspaceKey, isDownKey, isEnterKey, isUpKey, makeTheme, useKeypress, usePagination, usePrefix, useState, type KeypressEvent } from '@inquirer/core';

export interface SelectChoice<T> {
  readonly name: string;
  readonly value: T;
  readonly description?: string;
}

export interface SelectConfig<T> {
  readonly message: string;
  readonly choices: readonly SelectChoice<T>[];
  /** The value highlighted first (the current setting); the first choice when absent or not listed. */
  readonly default?: T;
  readonly pageSize?: number;
}

const HIDE_CURSOR = '\x1b[?25l';
const KEYS_HELP = '↑↓ navigate • ⏎ select';
export const TYPED_TEXT_HINT = 'Typed text is not a choice: use ↑↓ to move and ⏎ to choose.';

type Key = KeypressEvent & { sequence?: string; meta?: boolean };

/** A printable character that is not a navigation key (what a paste or a typing slip produces). */
const isTyped = (key: Key): boolean => !key.ctrl && !key.meta && typeof key.sequence === 'string' && /^[^\x00-\x1f\x7f]$/u.test(key.sequence);

export const selectPrompt = createPrompt(<T>(config: SelectConfig<T>, done: (value: T) => void): string => {
  const theme = makeTheme({});
  const { choices } = config;
  if (choices.length === 0) throw new Error(`select "${config.message}" has no choices`);
  const start = Math.max(0, choices.findIndex((c) => 'default' in config && Object.is(c.value, config.default)));
  const [active, setActive] = useState(start);
  const [status, setStatus] = useState<'idle' | 'done'>('idle');
  const [typed, setTyped] = useState('');
  const [hint, setHint] = useState('');
  const prefix = usePrefix({ status, theme });

  useKeypress((event, rl) => {
    const key = event as Key;
    rl.clearLine(0);
    if (status === 'done') return; // the choice is made: later keys belong to nobody
    if (isEnterKey(key)) {
      if (typed !== '') {
        setTyped('');
        setHint(TYPED_TEXT_HINT);
        return;
      }
      setStatus('done');
      done(choices[active]!.value);
    } else if (isUpKey(key) || isDownKey(key)) {
      setTyped('');
      setHint('');
      setActive(Math.min(choices.length - 1, Math.max(0, active + (isUpKey(key) ? -1 : 1))));
    } else if (isBackspaceKey(key)) {
      setTyped(typed.slice(0, -1));
    } else if (isTyped(key)) {
      setTyped(typed + key.sequence!);
      setHint(TYPED_TEXT_HINT);
    }
  });

  const page = usePagination({
    items: choices,
    active,
    renderItem: ({ item, isActive }) => (isActive ? theme.style.highlight(`❯ ${item.name}`) : `  ${item.name}`),
    pageSize: config.pageSize ?? 20,
    loop: false,
  });
  const chosen = choices[active]!;
  const message = theme.style.message(config.message, status);
  if (status === 'done') return `${prefix} ${message} ${theme.style.answer(chosen.name)}`;
  const lines = [`${prefix} ${message}`, page, ' ', chosen.description ?? '', hint ? theme.style.error(hint) : '', theme.style.help(KEYS_HELP)];
  return `${lines.filter(Boolean).join('\n').trimEnd()}${HIDE_CURSOR}`;
});
