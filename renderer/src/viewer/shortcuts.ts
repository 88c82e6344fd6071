// Viewer keys as radiology users know them (OHIF): one table drives the handler and the help dialog.
export type ViewerAction =
  | 'preset-1'
  | 'preset-2'
  | 'preset-3'
  | 'preset-4'
  | 'preset-5'
  | 'invert'
  | 'flip-h'
  | 'flip-v'
  | 'zoom-in'
  | 'zoom-out'
  | 'fit'
  | 'reset'
  | 'next'
  | 'prev'
  | 'toggle-gt'
  | 'toggle-predictions'

interface Shortcut {
  keys: string[]
  /** KeyboardEvent.key values that trigger it (empty: mouse gestures, listed for help only). */
  match: string[]
  action: string
  id?: ViewerAction
}

export const VIEWER_SHORTCUTS: Shortcut[] = [
  { keys: ['1'], match: ['1'], action: 'W/L preset: the file’s VOI (Auto if it has none)', id: 'preset-1' },
  { keys: ['2'], match: ['2'], action: 'W/L preset: auto (0.5–99.5 percentiles)', id: 'preset-2' },
  { keys: ['3'], match: ['3'], action: 'W/L preset: lung', id: 'preset-3' },
  { keys: ['4'], match: ['4'], action: 'W/L preset: mediastinum', id: 'preset-4' },
  { keys: ['5'], match: ['5'], action: 'W/L preset: bone', id: 'preset-5' },
  { keys: ['left drag'], match: [], action: 'Window / level' },
  { keys: ['middle drag', 'shift+drag'], match: [], action: 'Pan' },
  { keys: ['wheel'], match: [], action: 'Zoom' },
  { keys: ['+', '-'], match: ['+', '-'], action: 'Zoom in / out' },
  { keys: ['='], match: ['='], action: 'Fit to window', id: 'fit' },
  { keys: ['space'], match: [' '], action: 'Reset view (fit, preset 1, no flips)', id: 'reset' },
  { keys: ['i'], match: ['i', 'I'], action: 'Invert (MONOCHROME1 starts inverted, after VOI)', id: 'invert' },
  { keys: ['h'], match: ['h', 'H'], action: 'Flip horizontally', id: 'flip-h' },
  { keys: ['v'], match: ['v', 'V'], action: 'Flip vertically', id: 'flip-v' },
  {
    keys: ['→', '↓', 'PageDown'],
    match: ['ArrowRight', 'ArrowDown', 'PageDown'],
    action: 'Next image',
    id: 'next'
  },
  {
    keys: ['←', '↑', 'PageUp'],
    match: ['ArrowLeft', 'ArrowUp', 'PageUp'],
    action: 'Previous image',
    id: 'prev'
  },
  { keys: ['g'], match: ['g', 'G'], action: 'Show / hide ground-truth boxes', id: 'toggle-gt' },
  { keys: ['p'], match: ['p', 'P'], action: 'Show / hide predictions', id: 'toggle-predictions' },
  { keys: ['?'], match: [], action: 'This help' }
]

const BY_KEY = new Map<string, ViewerAction>()
for (const shortcut of VIEWER_SHORTCUTS)
  for (const key of shortcut.match) if (shortcut.id) BY_KEY.set(key, shortcut.id)
BY_KEY.set('+', 'zoom-in')
BY_KEY.set('-', 'zoom-out')

export function actionForKey(event: KeyboardEvent): ViewerAction | null {
  if (event.ctrlKey || event.metaKey || event.altKey) return null
  return BY_KEY.get(event.key) ?? null
}
