// One entry of the admin menu. Adding an entry: a file in options/ exporting a MenuOption, and a
// line in options/index.ts.
import type { Ui } from './ui.js';

export interface MenuOption {
  /** The line in the menu. */
  readonly label: string;
  /** Shown under the menu while the entry is highlighted: what it does. */
  readonly description: string;
  run(ui: Ui): Promise<void>;
}
