// An independent scorer used only to cross-check main/core/metric: a transcription of the PASCAL VOC
// devkit's VOCevaldet.m / VOCap.m working straight on the CSV texts, with its own CSV reading,
// PredictionString splitting and overlap code. It must not import anything from main/.
//
// Deliberate differences from the devkit, matching the competition statement and CXR Studio:
// - overlap is continuous (no "+1" pixel) and must be strictly greater than 0.5 (devkit: >= 0.5);
// - with `matching: 'unmatched'` (the default, what CXR Studio implements) a detection looks for the
//   best overlap among ground truths not yet detected; `matching: 'devkit'` keeps VOCevaldet's rule
//   (best overlap among all ground truths, a false positive if that one is already detected).

const CLASSES = ['negative', 'typical', 'indeterminate', 'atypical', 'opacity', 'none']

export interface ReferenceResult {
  ap: Record<string, number | null>
  final: number | null
}

/** Splits CSV text into rows of fields, honouring double quotes (the boxes column holds commas). */
function csvRows(text: string): string[][] {
  const rows: string[][] = []
  let field = ''
  let row: string[] = []
  let quoted = false
  for (let k = 0; k < text.length; k++) {
    const ch = text[k]
    if (quoted) {
      if (ch === '"' && text[k + 1] === '"') {
        field += '"'
        k++
      } else if (ch === '"') quoted = false
      else field += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      row.push(field)
      field = ''
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[k + 1] === '\n') k++
      row.push(field)
      if (row.some((f) => f !== '')) rows.push(row)
      row = []
      field = ''
    } else field += ch
  }
  row.push(field)
  if (row.some((f) => f !== '')) rows.push(row)
  return rows
}

type Box = [number, number, number, number]
interface Det {
  id: string
  conf: number
  bb: Box
}

function groupsOf(predictionString: string): Array<{ cls: string; conf: number; bb: Box }> {
  const t = predictionString.split(' ').filter((s) => s.length > 0)
  const out = []
  for (let k = 0; k + 5 < t.length; k += 6) {
    out.push({
      cls: t[k],
      conf: parseFloat(t[k + 1]),
      bb: [t[k + 2], t[k + 3], t[k + 4], t[k + 5]].map(parseFloat) as Box
    })
  }
  return out
}

export function referenceScore(
  studyCsv: string,
  imageCsv: string,
  submissionCsv: string,
  matching: 'unmatched' | 'devkit' = 'unmatched'
): ReferenceResult {
  // gt[cls][id] = list of boxes
  const gt: Record<string, Record<string, Box[]>> = {}
  const truthIds = new Set<string>()
  for (const c of CLASSES) gt[c] = {}
  const studyHeader = ['negative', 'typical', 'indeterminate', 'atypical']
  for (const r of csvRows(studyCsv).slice(1)) {
    truthIds.add(r[0])
    for (let c = 0; c < 4; c++)
      if (r[c + 1].trim() === '1') (gt[studyHeader[c]][r[0]] ??= []).push([0, 0, 1, 1])
  }
  for (const r of csvRows(imageCsv).slice(1)) {
    truthIds.add(r[0])
    for (const g of groupsOf(r[2])) (gt[g.cls][r[0]] ??= []).push(g.bb)
  }

  const dets: Record<string, Det[]> = {}
  for (const c of CLASSES) dets[c] = []
  for (const r of csvRows(submissionCsv).slice(1)) {
    if (!truthIds.has(r[0])) continue
    for (const g of groupsOf(r[1] ?? '')) dets[g.cls].push({ id: r[0], conf: g.conf, bb: g.bb })
  }

  const ap: Record<string, number | null> = {}
  for (const c of CLASSES) ap[c] = vocEvalDet(gt[c], dets[c], matching)
  const known = CLASSES.map((c) => ap[c]).filter((v): v is number => v !== null)
  return { ap, final: known.length ? known.reduce((s, v) => s + v, 0) / known.length : null }
}

function vocEvalDet(
  gtById: Record<string, Box[]>,
  detections: Det[],
  matching: 'unmatched' | 'devkit'
): number | null {
  let npos = 0
  const detected: Record<string, boolean[]> = {}
  for (const id of Object.keys(gtById)) {
    npos += gtById[id].length
    detected[id] = gtById[id].map(() => false)
  }
  // [sc,si]=sort(-confidence): a stable sort, so equal confidences keep their input order
  const si = detections.map((_, k) => k).sort((a, b) => -detections[a].conf - -detections[b].conf)
  const nd = si.length
  const tp = new Array<number>(nd).fill(0)
  const fp = new Array<number>(nd).fill(0)
  for (let d = 0; d < nd; d++) {
    const det = detections[si[d]]
    const gts = gtById[det.id] ?? []
    const bb = det.bb
    let ovmax = -Infinity
    let jmax = -1
    for (let j = 0; j < gts.length; j++) {
      if (matching === 'unmatched' && detected[det.id][j]) continue
      const bbgt = gts[j]
      const bi = [
        Math.max(bb[0], bbgt[0]),
        Math.max(bb[1], bbgt[1]),
        Math.min(bb[2], bbgt[2]),
        Math.min(bb[3], bbgt[3])
      ]
      const iw = bi[2] - bi[0]
      const ih = bi[3] - bi[1]
      if (iw > 0 && ih > 0) {
        const ua = (bb[2] - bb[0]) * (bb[3] - bb[1]) + (bbgt[2] - bbgt[0]) * (bbgt[3] - bbgt[1]) - iw * ih
        const ov = (iw * ih) / ua
        if (ov > ovmax) {
          ovmax = ov
          jmax = j
        }
      }
    }
    if (ovmax > 0.5) {
      if (!detected[det.id][jmax]) {
        tp[d] = 1
        detected[det.id][jmax] = true
      } else fp[d] = 1
    } else fp[d] = 1
  }
  if (npos === 0) return null
  // fp=cumsum(fp); tp=cumsum(tp); rec=tp/npos; prec=tp./(fp+tp)
  for (let d = 1; d < nd; d++) {
    fp[d] += fp[d - 1]
    tp[d] += tp[d - 1]
  }
  const rec = tp.map((t) => t / npos)
  const prec = tp.map((t, d) => t / (fp[d] + t))
  return vocAp(rec, prec)
}

/** VOCap.m */
function vocAp(rec: number[], prec: number[]): number {
  const mrec = [0, ...rec, 1]
  const mpre = [0, ...prec, 0]
  for (let i = mpre.length - 2; i >= 0; i--) mpre[i] = Math.max(mpre[i], mpre[i + 1])
  let ap = 0
  for (let i = 1; i < mrec.length; i++) if (mrec[i] !== mrec[i - 1]) ap += (mrec[i] - mrec[i - 1]) * mpre[i]
  return ap
}
