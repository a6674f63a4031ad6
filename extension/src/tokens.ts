import { Token } from '@lumino/coreutils';

import type { RaidenModel } from './model';

/** The one Raiden model of the page: the sidebar, the status bar and the commands share its poll. */
export const IRaidenModel = new Token<RaidenModel>('raiden-lab:IRaidenModel', 'The Raiden cluster shown on this page.');
