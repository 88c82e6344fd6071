#!/usr/bin/python3
"""Acceptance check of issue 2's "Done when" (plus items 8 and 10) on a dataset the code has never seen.

    /usr/bin/python3 scripts/acceptance-foundation.py [--data /tmp/unseen] [--regen] [--no-build]
        [--bench-files 2000] [--submissions 25] [--keep]

Builds the CLI (`npm run build:node`), generates the dataset with scripts/make-unseen-dataset.py when
it is missing, then drives `node bin/cxr-studio.mjs ... --workspace WS` like a user would and compares
every answer with what Python computes on its own (pydicom, dcmtk/gdcm, an independent scorer).
Prints PASS/FAIL per point with the numbers measured; exits 1 when any point fails. Not part of
`npm test`: it needs dcmtk, gdcm, pydicom (python3-gdcm lets pydicom decode the JPEG family) and
takes a few minutes.
"""
import argparse
import ast
import csv
import json
import os
import pty
import random
import re
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pydicom

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
CLI = ['node', os.path.join(REPO, 'bin', 'cxr-studio.mjs')]
RESULTS = []

# How the reference tools decompress each syntax to a native file (then read with pydicom's numpy handler).
TOOL_DECODER = {
    '1.2.840.10008.1.2': ['dcmconv', '+te'],
    '1.2.840.10008.1.2.1': None,
    '1.2.840.10008.1.2.1.99': ['dcmconv', '+te'],
    '1.2.840.10008.1.2.2': ['dcmconv', '+te'],
    '1.2.840.10008.1.2.5': ['dcmdrle'],
    '1.2.840.10008.1.2.4.50': ['dcmdjpeg'],
    '1.2.840.10008.1.2.4.51': ['dcmdjpeg'],
    '1.2.840.10008.1.2.4.57': ['dcmdjpeg'],
    '1.2.840.10008.1.2.4.70': ['dcmdjpeg'],
    '1.2.840.10008.1.2.4.80': ['dcmdjpls'],
    '1.2.840.10008.1.2.4.81': ['dcmdjpls'],
    '1.2.840.10008.1.2.4.90': ['gdcmconv', '--raw'],
    '1.2.840.10008.1.2.4.91': ['gdcmconv', '--raw'],
}

# What an index error must say for each kind of broken file the generator wrote.
BROKEN_REASON = {
    'empty': r'empty file',
    'truncated-pixels': r'truncated',
    'truncated-header': r'truncated',
    'truncated-fragment': r'truncated',
    'not-dicom': r'not a DICOM file',
    'garbage-after-dicm': r'garbage after the DICM marker',
    'no-pixel-data': r'no pixel data',
    'unknown-syntax': r'unsupported transfer syntax 1\.2\.826\.0\.1\.3680043\.9\.7777\.1\.2',
    'mpeg2-syntax': r'unsupported transfer syntax 1\.2\.840\.10008\.1\.2\.4\.100',
}


def report(point, ok, detail):
    RESULTS.append((point, ok))
    print(f"{'PASS' if ok else 'FAIL'}  {point}: {detail}", flush=True)


def cli(args, workspace=None, **kwargs):
    argv = CLI + list(args) + (['--workspace', workspace] if workspace else [])
    return subprocess.run(argv, capture_output=True, text=True, cwd=kwargs.pop('cwd', REPO), **kwargs)


def cli_json(args, workspace):
    result = cli(list(args) + ['--json'], workspace)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
    return json.loads(result.stdout)


# ---------------------------------------------------------------------------------------------- index

def check_index(truth, root, ws):
    start = time.perf_counter()
    index = cli_json(['index', root], ws)
    wall = time.perf_counter() - start
    images = {i['path']: i for i in index['images']}
    errors = {e['path']: e['reason'] for e in index['errors']}
    problems = []
    fields = ['studyId', 'seriesId', 'imageId', 'rows', 'columns', 'bitsAllocated', 'bitsStored',
              'pixelRepresentation', 'photometric', 'transferSyntaxUid', 'modality', 'rescaleSlope',
              'rescaleIntercept', 'windowCenter', 'windowWidth', 'pixelSpacing', 'size']
    for expected in truth['images']:
        got = images.get(expected['path'])
        if got is None:
            problems.append(f"{expected['path']} missing ({errors.get(expected['path'], 'not listed')})")
            continue
        for field in fields:
            if got.get(field) != expected[field]:
                problems.append(f"{expected['path']} {field}: {got.get(field)!r} != {expected[field]!r}")
    for broken in truth['errors']:
        reason = errors.get(broken['path'])
        if reason is None:
            problems.append(f"{broken['kind']} file {broken['path']} not reported as an error"
                            + (' (indexed as an image)' if broken['path'] in images else ''))
        elif not re.search(BROKEN_REASON[broken['kind']], reason):
            problems.append(f"{broken['kind']} file: reason '{reason}' does not say /{BROKEN_REASON[broken['kind']]}/")
    expected_paths = {i['path'] for i in truth['images']} | {b['path'] for b in truth['errors']}
    extra = (set(images) | set(errors)) - expected_paths
    problems += [f'unexpected entry {p}' for p in sorted(extra)]
    again = cli_json(['index', root], ws)
    if again != index:
        problems.append('a second (cached) index differs from the first')
    report('index: every image with geometry + syntax, every broken file with a reason', not problems,
           f"{len(index['images'])} images, {len(index['errors'])} errors in {wall:.2f} s"
           + ''.join(f'\n        - {p}' for p in problems[:20]))
    return index


# --------------------------------------------------------------------------------------------- decode

NATIVE = {'1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.2'}


def stored_to_logical(arr, ds):
    """DICOM's reading of native stored values: only Bits Stored bits count, signed values are
    sign-extended. A codec's output is taken as it is (a JPEG 2000 codestream may be wider than Bits
    Stored, and lossy ones overshoot it), as pydicom and gdcm do."""
    if str(ds.file_meta.TransferSyntaxUID) not in NATIVE:
        return arr.astype(np.int64)
    bits = int(ds.BitsStored)
    values = arr.astype(np.int64) & ((1 << bits) - 1)
    if int(ds.PixelRepresentation) == 1:
        values = np.where(values >= 1 << (bits - 1), values - (1 << bits), values)
    return values


def modality(values, ds):
    slope = float(ds.RescaleSlope) if 'RescaleSlope' in ds else 1.0
    intercept = float(ds.RescaleIntercept) if 'RescaleIntercept' in ds else 0.0
    return values.astype(np.float64) * slope + intercept


def quiet_pixel_array(ds):
    """ds.pixel_array with the C libraries' stderr chatter (gdcm retrying 12-bit JPEG) silenced."""
    saved = os.dup(2)
    with open(os.devnull, 'w') as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            return ds.pixel_array
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def pydicom_reference(path):
    """(modality values, note) from pydicom's own decoder, or (None, why) when it has no handler."""
    try:
        ds = pydicom.dcmread(path)
        raw = quiet_pixel_array(ds)
    except Exception as err:  # noqa: BLE001 - any handler failure means "pydicom cannot decode this"
        return None, f'pydicom cannot decode: {type(err).__name__}: {str(err)[:80]}'
    logical = stored_to_logical(raw, ds)
    masked = not np.array_equal(logical, raw.astype(np.int64))
    return modality(logical, ds), ('pydicom values masked to Bits Stored' if masked else '')


def tool_reference(path, uid, work):
    command = TOOL_DECODER.get(uid)
    target = path
    if command:
        target = os.path.join(work, 'tool-decoded.dcm')
        subprocess.run(command + [path, target], check=True, capture_output=True)
    ds = pydicom.dcmread(target)
    return modality(stored_to_logical(ds.pixel_array, ds), ds)


def equal_modality(ours, reference):
    if ours.dtype == np.int32:
        return np.array_equal(ours.astype(np.float64), reference)
    return np.array_equal(ours, reference.astype(np.float32))


DECODE_TIMER = r"""
import { build } from 'esbuild'
import { writeFileSync } from 'node:fs'
const [entry, bundle, ...files] = process.argv.slice(2)
await build({ entryPoints: [entry], outfile: bundle, bundle: true, platform: 'node', format: 'esm', target: 'node20',
  packages: 'external', logLevel: 'error',
  banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" } })
const { decodeFile } = await import(bundle)
const times = {}
for (const file of files) {
  await decodeFile(file)
  const runs = []
  for (let i = 0; i < 3; i++) { const t = performance.now(); await decodeFile(file); runs.push(performance.now() - t) }
  times[file] = runs.sort((a, b) => a - b)[1]
}
console.log(JSON.stringify(times))
"""


def decode_ms_in_process(paths, work):
    """ms per file of decodeFile (read + parse + decode + stored values), warm, median of 3, in one Node process."""
    # in the (git-ignored) build folder, so that esbuild and the codecs' packages resolve from node_modules
    folder = tempfile.mkdtemp(prefix='acceptance-', dir=os.path.join(REPO, 'out'))
    script = os.path.join(folder, 'decode-timer.mjs')
    with open(script, 'w') as f:
        f.write(DECODE_TIMER)
    try:
        result = subprocess.run(['node', script, os.path.join(REPO, 'main/core/dicom/decode.ts'),
                                 os.path.join(folder, 'decode-bundle.mjs'), *paths],
                                capture_output=True, text=True, cwd=REPO, check=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return json.loads(result.stdout)


def tool_ms(path, uid, work):
    """Wall ms of the reference command-line decoder (whole process), best of 3; None for explicit LE."""
    command = TOOL_DECODER.get(uid)
    if not command:
        return None
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(command + [path, os.path.join(work, 'tool-timed.dcm')], check=True, capture_output=True)
        runs.append((time.perf_counter() - start) * 1000)
    return min(runs)


def check_decode(truth, root, work, pixels_dir):
    rows = []
    problems = []
    for image in truth['images']:
        path = os.path.join(root, image['path'])
        out = os.path.join(work, f"{image['imageId']}.npy")
        start = time.perf_counter()
        result = cli(['decode', path, '--npy', out])
        ours_wall = time.perf_counter() - start
        if result.returncode != 0:
            problems.append(f"{image['path']} ({image['syntax']}): exit {result.returncode}: {result.stderr.strip()}")
            continue
        ours = np.load(out)
        integral = float(image['rescaleSlope']).is_integer() and float(image['rescaleIntercept']).is_integer()
        want_dtype = np.int32 if integral else np.float32
        if ours.dtype != want_dtype or ours.shape != (image['rows'], image['columns']):
            problems.append(f"{image['path']}: {ours.dtype} {ours.shape}, expected {np.dtype(want_dtype)} "
                            f"({image['rows']}, {image['columns']})")
        ref, note = pydicom_reference(path)
        tool = tool_reference(path, image['transferSyntaxUid'], work)
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        original = modality(np.load(os.path.join(pixels_dir, f"{image['imageId']}.npy")), ds)
        vs_pydicom = None if ref is None else equal_modality(ours, ref)
        vs_tool = equal_modality(ours, tool)
        vs_original = equal_modality(ours, original) if image['lossless'] else None
        diff = float(np.max(np.abs(ours.astype(np.float64) - (ref if ref is not None else tool))))
        rows.append((image, vs_pydicom, vs_tool, vs_original, note, ours_wall, tool_ms(path, image['transferSyntaxUid'], work), diff))
        if vs_pydicom is False:
            problems.append(f"{image['path']} ({image['syntax']}): differs from pydicom (max |diff| {diff:g})")
        if not vs_tool:
            problems.append(f"{image['path']} ({image['syntax']}): differs from dcmtk/gdcm's decode")
        if vs_original is False:
            problems.append(f"{image['path']} ({image['syntax']}, lossless): differs from the pixels written")
    in_process = decode_ms_in_process([os.path.join(root, r[0]['path']) for r in rows], work)
    by_syntax = {}
    for image, vs_pydicom, vs_tool, vs_original, note, ours_wall, tool_wall, _ in rows:
        entry = by_syntax.setdefault(image['syntax'], {'n': 0, 'pydicom': 0, 'pydicomNa': 0, 'tool': 0,
                                                       'original': 0, 'ratios': [], 'ms': [], 'cli': [],
                                                       'notes': set()})
        entry['n'] += 1
        entry['pydicom'] += vs_pydicom is True
        entry['pydicomNa'] += vs_pydicom is None
        entry['tool'] += vs_tool
        entry['original'] += vs_original is True
        ours_ms = in_process[os.path.join(root, image['path'])]
        entry['ms'].append(ours_ms)
        entry['cli'].append(ours_wall * 1000)
        if tool_wall is not None:
            entry['ratios'].append(ours_ms / tool_wall)
        if note:
            entry['notes'].add(note)
    lines = []
    for syntax, e in sorted(by_syntax.items()):
        lines.append(f"{syntax:20s} files {e['n']}: = pydicom {e['pydicom']}/{e['n'] - e['pydicomNa']}"
                     f"{' (' + str(e['pydicomNa']) + ' not decodable by pydicom)' if e['pydicomNa'] else ''},"
                     f" = dcmtk/gdcm {e['tool']}/{e['n']}, = written pixels {e['original']},"
                     f" decode {statistics.median(e['ms']):.0f} ms in-process"
                     + (f" = {statistics.median(e['ratios']):.2f}x the dcmtk/gdcm CLI" if e['ratios'] else '')
                     + f", CLI {statistics.median(e['cli']):.0f} ms"
                     + (f" [{'; '.join(sorted(e['notes']))}]" if e['notes'] else ''))
    not_decodable = sum(e['pydicomNa'] for e in by_syntax.values())
    report('decode --npy equals pydicom modality values for every syntax', not problems,
           f'{len(rows)} files, {not_decodable} not decodable by pydicom here (compared with dcmtk/gdcm)'
           + ''.join(f'\n        {line}' for line in lines) + ''.join(f'\n        - {p}' for p in problems[:20]))
    return rows


# ----------------------------------------------------------------------------------------------- coco

def check_coco(truth, root, ws, work):
    out = os.path.join(work, 'coco')
    result = cli(['coco', root, '--out', out, '--json'], ws)
    if result.returncode != 0:
        report('coco: boxes = CSV after keep-boxed, sizes from DICOM, no study in two splits', False,
               result.stderr.strip())
        return
    problems = []
    seen = {}
    split_of_study = {}
    for subset in ('train', 'val'):
        doc = json.load(open(os.path.join(out, f'{subset}.json')))
        if [c['name'] for c in doc['categories']] != ['opacity']:
            problems.append(f"{subset}: categories {doc['categories']}")
        boxes = {}
        for a in doc['annotations']:
            boxes.setdefault(a['image_id'], []).append(a)
            if a['category_id'] != 1 or a['iscrowd'] != 0 or abs(a['area'] - a['bbox'][2] * a['bbox'][3]) > 1e-6 * max(1, a['area']):
                problems.append(f"{subset} annotation {a['id']}: {a}")
        for img in doc['images']:
            image_id = os.path.splitext(os.path.basename(img['file_name']))[0]
            if image_id in seen:
                problems.append(f'{image_id} exported twice')
            seen[image_id] = (subset, img, [a['bbox'] for a in boxes.get(img['id'], [])])
            study = img.get('study_id')
            split_of_study.setdefault(study, set()).add(subset)
    expected = truth['coco']
    for image_id in sorted(set(expected) | set(seen)):
        if image_id not in seen:
            problems.append(f'{image_id} kept by keep-boxed but not exported')
            continue
        if image_id not in expected:
            problems.append(f'{image_id} exported but keep-boxed drops it')
            continue
        subset, img, bboxes = seen[image_id]
        want = expected[image_id]
        if (img['width'], img['height']) != (want['width'], want['height']):
            problems.append(f"{image_id}: {img['width']}x{img['height']}, DICOM is {want['width']}x{want['height']}")
        if len(bboxes) != len(want['boxes']):
            problems.append(f'{image_id}: {len(bboxes)} boxes, CSV has {len(want["boxes"])}')
            continue
        worst = max((abs(a - b) for got, w in zip(bboxes, want['boxes']) for a, b in zip(got, w)), default=0)
        if worst > 1e-9:
            problems.append(f'{image_id}: bbox differs from the CSV by up to {worst:g} px, e.g. {bboxes[0]} vs {want["boxes"][0]}')
    study_of = {image_id: v['studyId'] for image_id, v in expected.items()}
    in_two = [s for s, subsets in split_of_study.items() if len(subsets) > 1]
    if in_two:
        problems.append(f'studies in both splits: {in_two}')
    if any(seen[i][1].get('study_id') != study_of.get(i) for i in seen if i in study_of):
        problems.append('study_id of an image is not its study')
    n_val = sum(1 for v in seen.values() if v[0] == 'val')
    report('coco: boxes = CSV after keep-boxed, sizes from DICOM, no study in two splits', not problems,
           f"{len(seen)} images ({n_val} val), {sum(len(v[2]) for v in seen.values())} boxes, "
           f"{len(split_of_study)} studies" + ''.join(f'\n        - {p}' for p in problems[:20]))


def check_yolo(truth, root, ws, work):
    out = os.path.join(work, 'yolo')
    result = cli(['yolo', root, '--out', out, '--json'], ws)
    problems = [] if result.returncode == 0 else [f'exit {result.returncode}: {result.stderr.strip()}']
    expected = truth['coco']
    found = {}
    for subset in ('train', 'val'):
        folder = os.path.join(out, 'labels', subset)
        for name in os.listdir(folder) if os.path.isdir(folder) else []:
            image_id = name[:-4]
            lines = [l.split() for l in open(os.path.join(folder, name)).read().splitlines() if l.strip()]
            found[image_id] = [[float(v) for v in l[1:]] for l in lines]
            png = os.path.join(out, 'images', subset, f'{image_id}.png')
            with open(png, 'rb') as f:
                head = f.read(24)
            size = (int.from_bytes(head[16:20], 'big'), int.from_bytes(head[20:24], 'big'))
            if image_id in expected and size != (expected[image_id]['width'], expected[image_id]['height']):
                problems.append(f'{image_id}.png is {size}, the DICOM {expected[image_id]["width"]}x{expected[image_id]["height"]}')
    if set(found) != set(expected):
        problems.append(f'images differ from keep-boxed: extra {sorted(set(found) - set(expected))}, '
                        f'missing {sorted(set(expected) - set(found))}')
    worst = 0.0
    for image_id, lines in found.items():
        want = expected.get(image_id)
        if not want or len(lines) != len(want['boxes']):
            continue
        for line, (x, y, w, h) in zip(lines, want['boxes']):
            W, H = want['width'], want['height']
            target = [(x + w / 2) / W, (y + h / 2) / H, w / W, h / H]
            worst = max(worst, max(abs(a - b) for a, b in zip(line, target)))
    if worst > 5e-7:
        problems.append(f'normalised boxes differ from the CSV by up to {worst:g}')
    report('yolo: labels = CSV boxes normalised (6 decimals), PNGs at the DICOM size', not problems,
           f'{len(found)} label files, max |diff| {worst:.1e}' + ''.join(f'\n        - {p}' for p in problems[:10]))


def check_display(truth, root, work):
    """decode --display: the file's window by the DICOM linear VOI formula, MONOCHROME1 inverted after VOI."""
    problems = []
    exact = 0
    for image in truth['images']:
        path = os.path.join(root, image['path'])
        out = os.path.join(work, f"{image['imageId']}-display.npy")
        result = cli(['decode', path, '--npy', out, '--display'])
        if result.returncode != 0:
            problems.append(f"{image['path']}: exit {result.returncode}: {result.stderr.strip()}")
            continue
        shown = np.load(out)
        ds = pydicom.dcmread(path)
        values = modality(stored_to_logical(quiet_pixel_array(ds), ds), ds)
        invert = image['photometric'] == 'MONOCHROME1'
        if image['windowCenter']:
            c, w = image['windowCenter'][0], image['windowWidth'][0]
            y = np.where(values <= c - 0.5 - (w - 1) / 2, 0.0,
                         np.where(values > c - 0.5 + (w - 1) / 2, 255.0, ((values - (c - 0.5)) / (w - 1) + 0.5) * 255))
            want = np.floor(y + 0.5).astype(np.int64)
            want = 255 - want if invert else want
            if np.array_equal(shown.astype(np.int64), want):
                exact += 1
            else:
                problems.append(f"{image['path']}: display differs from the window {c}/{w} by up to "
                                f"{np.max(np.abs(shown.astype(np.int64) - want))}")
        else:
            r = np.corrcoef(shown.ravel()[::97].astype(float), values.ravel()[::97])[0, 1]
            if (r > 0) == invert or abs(r) < 0.5:
                problems.append(f"{image['path']} ({image['photometric']}): display vs modality correlation {r:.2f}")
    report('decode --display: file window exact, MONOCHROME1 inverted after VOI', not problems,
           f"{exact} windowed files byte-exact, {len(truth['images']) - exact} percentile-windowed files with the right polarity"
           + ''.join(f'\n        - {p}' for p in problems[:10]))


def check_quality(truth, root, ws):
    result = cli(['quality', root, '--json'], ws)
    problems = [] if result.returncode == 0 else [f'exit {result.returncode}: {result.stderr.strip()}']
    q = json.loads(result.stdout)
    by_rule = lambda rule: [i for i in q['issues'] if i['rule'] == rule]
    identical = sorted(i['imageId'] for i in by_rule('pixel-identical'))
    if identical != sorted(truth['pixelIdentical'][0]):
        problems.append(f"pixel-identical {identical} != {sorted(truth['pixelIdentical'][0])}")
    multi = sorted(i['studyId'] for i in by_rule('multi-image-study'))
    if multi != truth['multiImageStudies']:
        problems.append(f"multi-image studies {multi} != {truth['multiImageStudies']}")
    unreadable = sorted(i['path'] for i in by_rule('unreadable-file'))
    if unreadable != sorted(b['path'] for b in truth['errors']):
        problems.append(f'unreadable files {unreadable}')
    if by_rule('csv-row-without-file'):
        problems.append(f"rows of unreadable files reported as rows without a file: {len(by_rule('csv-row-without-file'))}")
    if q['policies']['keep-boxed']['kept'] != len(truth['coco']):
        problems.append(f"keep-boxed keeps {q['policies']['keep-boxed']['kept']}, expected {len(truth['coco'])}")
    report('quality: duplicates, multi-image studies, unreadable files, policy', not problems,
           f"{len(q['issues'])} findings, {q['pixelCheck']['decoded']} images hashed"
           + ''.join(f'\n        - {p}' for p in problems))


# ------------------------------------------------------------------------------------------------ eda

def check_eda(truth, root, ws):
    result = cli(['eda', root, '--json'], ws)
    eda = json.loads(result.stdout)
    want = truth['eda']
    problems = []
    for key in ('studies', 'images', 'boxesPerImage', 'imagesPerStudy', 'positivesWithoutBoxes'):
        got = eda.get(key)
        if key == 'studies':
            got = {k: v for k, v in got.items() if k in want[key]}
        if key == 'boxesPerImage':
            got = {k: v for k, v in got.items() if v}
        if got != want[key]:
            problems.append(f'{key}: {got} != {want[key]}')
    if eda['boxes']['total'] != want['boxes']['total']:
        problems.append(f"boxes.total {eda['boxes']['total']} != {want['boxes']['total']}")
    # header mix: counted on the readable files
    readable = truth['images']
    mix = {
        'bitsStored': count(str(i['bitsStored']) for i in readable),
        'photometric': count(i['photometric'] for i in readable),
    }
    for key, value in mix.items():
        if eda.get(key) != value:
            problems.append(f'{key}: {eda.get(key)} != {value}')
    syntaxes = {t['uid']: t['count'] for t in eda['transferSyntax']}
    if syntaxes != count(i['transferSyntaxUid'] for i in readable):
        problems.append(f'transferSyntax: {syntaxes}')
    if eda['files']['unreadable'] != len(truth['errors']):
        problems.append(f"files.unreadable {eda['files']['unreadable']} != {len(truth['errors'])}")
    report('eda --json counts equal the CSVs', not problems,
           f"studies {eda['studies']['total']}, image rows {eda['images']['total']}, boxes {eda['boxes']['total']},"
           f" positives without boxes {eda['positivesWithoutBoxes']}" + ''.join(f'\n        - {p}' for p in problems))


def count(values):
    out = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def check_bad_row(truth, root, ws):
    bad = truth['labelErrors'][0]
    where = f"{bad['file']}:{bad['line']}"
    problems = []
    quality = cli(['quality', root, '--json', '--no-pixels'], ws)
    report_json = json.loads(quality.stdout)
    malformed = [i['message'] for i in report_json['issues'] if i['rule'] == 'malformed-csv-row']
    if not any(m.startswith(where + ':') for m in malformed):
        problems.append(f'quality --json does not report {where}: {malformed}')
    for command in (['eda', root], ['coco', root, '--out', tempfile.mkdtemp(prefix='acc-coco-')]):
        result = cli(command, ws)
        if where not in result.stderr and where not in result.stdout:
            problems.append(f'`{command[0]}` runs on the bad row without naming {where}')
    eda = json.loads(cli(['eda', root, '--json'], ws).stdout)
    if eda['images']['total'] != len(truth['imageRows']):
        problems.append(f"the other rows did not all load: {eda['images']['total']} != {len(truth['imageRows'])}")
    report('a bad CSV row is reported as train_image_level.csv:LINE while the rest loads', not problems,
           f"{where} -> {malformed[0] if malformed else '(not reported)'}" + ''.join(f'\n        - {p}' for p in problems))


# ---------------------------------------------------------------------------------------------- score

STUDY_CLASSES = ['negative', 'typical', 'indeterminate', 'atypical']
CLASSES = STUDY_CLASSES + ['opacity', 'none']


def truth_objects(truth):
    objects = {}
    for s in truth['studyRows']:
        objects[f"{s['studyId']}_study"] = [(s['cls'], 0.0, 0.0, 1.0, 1.0)]
    for r in truth['imageRows']:
        if r['boxes']:
            objects[f"{r['imageId']}_image"] = [('opacity', b['x'], b['y'], b['x'] + b['width'], b['y'] + b['height'])
                                                 for b in r['boxes']]
        else:
            objects[f"{r['imageId']}_image"] = [('none', 0.0, 0.0, 1.0, 1.0)]
    return objects


def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def voc_ap(recall, precision):
    mrec = [0.0] + recall + [1.0]
    mpre = [0.0] + precision + [0.0]
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    return sum((mrec[i] - mrec[i - 1]) * mpre[i] for i in range(1, len(mrec)) if mrec[i] != mrec[i - 1])


def independent_score(objects, submission):
    """VOC 2010 AP@0.5 per class; detections ranked by confidence (stable: row order, then string order)."""
    aps = {}
    for cls in CLASSES:
        gt = {i: [o[1:] for o in objs if o[0] == cls] for i, objs in objects.items()}
        npos = sum(len(v) for v in gt.values())
        dets = [(conf, i, box) for i, preds in submission if i in objects for (c, conf, *box) in preds if c == cls]
        dets = sorted(dets, key=lambda d: -d[0])
        used = {i: [False] * len(v) for i, v in gt.items()}
        tp = fp = 0
        recall, precision = [], []
        for _, i, box in dets:
            best, best_iou = -1, 0.5
            for j, g in enumerate(gt[i]):
                if not used[i][j]:
                    o = iou(box, g)
                    if o > best_iou:
                        best, best_iou = j, o
            if best >= 0:
                used[i][best] = True
                tp += 1
            else:
                fp += 1
            recall.append(tp / npos if npos else 0.0)
            precision.append(tp / (tp + fp))
        aps[cls] = voc_ap(recall, precision) if npos else None
    known = lambda values: [v for v in values if v is not None]
    mean = lambda values: sum(known(values)) / len(known(values)) if known(values) else None
    return {'ap': aps, 'studyMap': mean([aps[c] for c in STUDY_CLASSES]),
            'imageMap': mean([aps['opacity'], aps['none']]), 'final': mean([aps[c] for c in CLASSES])}


def fmt(value, rng):
    """Numbers as different writers print them: repr, fixed decimals, ints, exponents."""
    style = rng.random()
    if style < 0.5:
        return repr(float(value))
    if style < 0.75:
        return f'{value:.4f}'
    if style < 0.9 and float(value).is_integer():
        return str(int(value))
    return f'{value:.6e}' if style > 0.95 else f'{value:.2f}'


def random_submission(objects, rng):
    ids = list(objects)
    rng.shuffle(ids)
    rows = []
    for i in ids:
        if rng.random() < 0.08:
            continue  # a missing row: its objects are misses
        tie = rng.random() < 0.3
        conf = (lambda: round(rng.random(), 1)) if tie else rng.random
        preds = []
        if i.endswith('_study'):
            for cls in rng.sample(STUDY_CLASSES, rng.randint(0, 4)):
                preds.append((cls, conf(), 0, 0, 1, 1))
        else:
            for obj in objects[i]:
                if obj[0] == 'opacity' and rng.random() < 0.75:
                    x1, y1, x2, y2 = obj[1:]
                    w, h = x2 - x1, y2 - y1
                    j = rng.uniform(0.0, 0.35)
                    box = (x1 + rng.uniform(-j, j) * w, y1 + rng.uniform(-j, j) * h,
                           x2 + rng.uniform(-j, j) * w, y2 + rng.uniform(-j, j) * h)
                    box = (min(box[0], box[2] - 1), min(box[1], box[3] - 1), max(box[2], box[0] + 1), max(box[3], box[1] + 1))
                    preds.append(('opacity', conf(), *box))
                    if rng.random() < 0.2:
                        preds.append(('opacity', conf(), *box))  # a duplicate detection
            for _ in range(rng.randint(0, 2)):
                x, y = rng.uniform(0, 800), rng.uniform(0, 800)
                preds.append(('opacity', conf(), x, y, x + rng.uniform(20, 400), y + rng.uniform(20, 400)))
            if rng.random() < 0.8:
                preds.append(('none', conf(), 0, 0, 1, 1))
        rows.append((i, preds))
    if rng.random() < 0.5:
        rows.append(('0123456789ab_image', [('none', 0.9, 0, 0, 1, 1)]))  # an id the truth does not know
    return rows


def write_submission(path, rows, rng):
    with open(path, 'w') as f:
        f.write('id,PredictionString\n')
        for i, preds in rows:
            parts = []
            for cls, c, x1, y1, x2, y2 in preds:
                parts += [cls, repr(float(c)) if rng.random() < 0.7 else fmt(c, rng)]
                parts += ['0', '0', '1', '1'] if cls != 'opacity' else [fmt(v, rng) for v in (x1, y1, x2, y2)]
            f.write(f"{i},{' '.join(parts)}\n")
    # scoring must use exactly the numbers written
    parsed = []
    with open(path) as f:
        for record in list(csv.reader(f))[1:]:
            tokens = record[1].split()
            preds = [(tokens[k], float(tokens[k + 1]), *map(float, tokens[k + 2:k + 6])) for k in range(0, len(tokens), 6)]
            parsed.append((record[0], preds))
    return parsed


def check_score(truth, root, work, n_submissions, seed):
    objects = truth_objects(truth)
    rng = random.Random(seed)
    worst = 0.0
    problems = []
    finals = []
    for k in range(n_submissions):
        path = os.path.join(work, f'submission-{k}.csv')
        rows = write_submission(path, random_submission(objects, rng), rng)
        mine = independent_score(objects, rows)
        result = cli(['score', root, '--submission', path, '--json'])
        if result.returncode != 0:
            problems.append(f'submission {k}: exit {result.returncode}: {result.stderr.strip()}')
            continue
        theirs = json.loads(result.stdout)
        finals.append(mine['final'])
        for cls in CLASSES:
            a, b = theirs['ap'][cls], mine['ap'][cls]
            if (a is None) != (b is None) or (a is not None and abs(a - b) > 1e-6):
                problems.append(f'submission {k}: AP {cls} {a} vs {b}')
            elif a is not None:
                worst = max(worst, abs(a - b))
        for key in ('studyMap', 'imageMap', 'final'):
            if abs(theirs[key] - mine[key]) > 1e-6:
                problems.append(f'submission {k}: {key} {theirs[key]} vs {mine[key]}')
            worst = max(worst, abs(theirs[key] - mine[key]))
    # a perfect submission scores 1
    perfect = os.path.join(work, 'perfect.csv')
    write_submission(perfect, [(i, [(o[0], 1.0, *o[1:]) for o in objs]) for i, objs in objects.items()], random.Random(1))
    final = json.loads(cli(['score', root, '--submission', perfect, '--json']).stdout)['final']
    if abs(final - 1) > 1e-12:
        problems.append(f'a perfect submission scores {final}')
    report('score equals an independent scorer to 1e-6 on random submissions', not problems,
           f'{n_submissions} submissions, finals {min(finals):.4f}..{max(finals):.4f}, max |diff| {worst:.2e}'
           + ''.join(f'\n        - {p}' for p in problems[:10]))


# ---------------------------------------------------------------------------------------- index speed

PYDICOM_WALK = r'''
import os, sys, pydicom
n = ok = 0
for folder, _, files in os.walk(sys.argv[1]):
    for name in files:
        if name.lower().endswith('.dcm'):
            n += 1
            try:
                pydicom.dcmread(os.path.join(folder, name), stop_before_pixels=True)
                ok += 1
            except Exception:
                pass
print(n, ok)
'''


def timed(argv):
    """(wall s, cpu s) of a whole child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError(f'{argv}: {result.stderr}')
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def check_index_speed(root, work, n_files):
    files = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(root, 'train')) for f in fs]
    tree = os.path.join(work, 'bench-tree')
    copies = max(1, n_files // len(files))
    for k in range(copies):
        for f in files:
            rel = os.path.relpath(f, root).split(os.sep)
            target = os.path.join(tree, 'train', f'{rel[1]}{k:04d}'[-12:] if k else rel[1], *rel[2:])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.link(f, target)
    total = copies * len(files)
    figures = {}
    for name, folder in (('unseen dataset', root), (f'{total} hard links', tree)):
        ours, theirs = [], []
        for _ in range(3):
            ws = tempfile.mkdtemp(prefix='acc-ws-')
            ours.append(timed(CLI + ['index', folder, '--json', '--workspace', ws]))
            shutil.rmtree(ws)
            theirs.append(timed(['/usr/bin/python3', '-c', PYDICOM_WALK, folder]))
        n = sum(1 for _, _, fs in os.walk(folder) for f in fs if f.endswith('.dcm'))
        figures[name] = (n, *(statistics.median(r[k] for r in runs) for runs in (ours, theirs) for k in (0, 1)))
    startup_runs = [timed(CLI + ['--help']) for _ in range(3)]
    startup = statistics.median(r[0] for r in startup_runs)
    startup_cpu = statistics.median(r[1] for r in startup_runs)
    big_n, big_ours, _, big_theirs, _ = figures[f'{total} hard links']
    ratio = big_theirs / big_ours
    lines = [f'{name}: {n} files, cxr-studio {n / o:.0f} files/s ({o:.2f} s wall, {oc:.2f} s cpu), pydicom '
             f'{n / t:.0f} files/s ({t:.2f} s wall, {tc:.2f} s cpu): ratio {t / o:.2f}x wall, {tc / oc:.2f}x cpu'
             for name, (n, o, oc, t, tc) in figures.items()]
    lines.append(f'CLI start-up alone (--help): {startup:.2f} s wall, {startup_cpu:.2f} s cpu; index without it: '
                 f'{big_n / max(1e-3, big_ours - startup):.0f} files/s')
    report(f'indexing beats pydicom by 2x (whole process, fresh workspace, {big_n} files)', ratio >= 2,
           f'{ratio:.2f}x' + ''.join(f'\n        {line}' for line in lines))
    shutil.rmtree(tree)
    return tree


# -------------------------------------------------------------------------------------- CLI contract

def run_with_tty_stderr(argv):
    """stdout to a pipe, stderr to a pseudo-terminal: what a user sees when piping --json to a file."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, cwd=REPO)
    os.close(slave)
    seen = b''
    stdout = b''
    streams = [master, proc.stdout]
    while streams:
        ready, _, _ = select.select(streams, [], [], 0.1)
        if master in ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                chunk = b''
            seen += chunk
            if not chunk:
                streams.remove(master)
        if proc.stdout in ready:
            chunk = proc.stdout.read1(65536)
            stdout += chunk
            if not chunk:
                streams.remove(proc.stdout)
        if not ready and proc.poll() is not None:
            break
    proc.wait()
    os.close(master)
    return proc.returncode, stdout.decode(), seen.decode(errors='replace')


def check_cli_contract(truth, root, work):
    problems = []
    ws = tempfile.mkdtemp(prefix='acc-ws-')
    image = truth['images'][0]
    broken = next(b for b in truth['errors'] if b['kind'] == 'unknown-syntax')
    sub = os.path.join(work, 'contract-submission.csv')
    rng = random.Random(5)
    write_submission(sub, random_submission(truth_objects(truth), rng), rng)
    sample = os.path.join(root, 'sample_submission.csv')
    json_commands = [
        ['index', root], ['eda', root], ['quality', root, '--no-pixels'],
        ['coco', root, '--out', os.path.join(work, 'c1')], ['yolo', root, '--out', os.path.join(work, 'y1')],
        ['score', root, '--submission', sub], ['decode', os.path.join(root, image['path']), '--npy', os.path.join(work, 'x.npy')],
        ['validate-submission', sample, '--sample', sample], ['demo', os.path.join(work, 'demo'), '--studies', '6'],
    ]
    for command in json_commands:
        result = cli(command + ['--json'], ws)
        try:
            json.loads(result.stdout)
            ok = result.returncode == 0
        except json.JSONDecodeError:
            ok = False
        if not ok:
            problems.append(f"`{' '.join(command[:1])} --json`: exit {result.returncode}, stdout is "
                            f"{'not ' if not ok else ''}only JSON: {result.stdout[:80]!r} {result.stderr[:200]!r}")
        if result.stderr.strip() and command[0] not in ('eda', 'coco', 'yolo', 'quality', 'score'):
            problems.append(f'`{command[0]} --json` wrote to stderr without a TTY: {result.stderr[:120]!r}')
        if '\x1b[' in result.stderr or '░' in result.stderr or '█' in result.stderr:
            problems.append(f'`{command[0]}` drew a progress bar on a non-terminal stderr')
    usage = [
        (['index'], 2), (['coco', root], 2), (['index', root, '--bogus'], 2), (['coco', root, '--out', work + '/c2', '--policy', 'nope'], 2),
        (['frobnicate'], 2), (['index', '/nonexistent/folder'], 1), (['decode', os.path.join(root, broken['path']), '--npy', work + '/b.npy'], 1),
        (['coco', root, '--out', os.path.join(root, 'inside')], 1), (['score', root, '--submission', '/nonexistent.csv'], 1),
        (['validate-submission', os.path.join(root, 'train_study_level.csv'), '--sample', sample], 1),
        (['coco', root, '--out', os.path.join(root, 'train_study_level.csv', 'coco')], 1),  # an unwritable output
        (['--help'], 0), (['index', '--help'], 0),
    ]
    for argv, code in usage:
        result = cli(argv, ws)
        if result.returncode != code:
            problems.append(f"`{' '.join(argv)}` exits {result.returncode}, expected {code}: {result.stderr.strip()[:150]}")
        if code == 1:
            lines = [l for l in result.stderr.strip().splitlines() if l]
            if len(lines) != 1 or 'at ' in result.stderr and 'node:' in result.stderr:
                problems.append(f"`{' '.join(argv)}`: error is not one line: {result.stderr!r}")
            if 'internal error' in result.stderr:
                problems.append(f"`{' '.join(argv)}`: a user error reported as an internal error: {result.stderr.strip()}")
            verbose = cli(argv + ['--verbose'], ws)
            if '    at ' not in verbose.stderr:
                problems.append(f"`{' '.join(argv)} --verbose` prints no stack")
    if os.path.exists(os.path.join(root, 'inside')):
        problems.append('coco wrote inside the source dataset')
    # progress: drawn on a terminal stderr, never mixed into --json stdout
    code, stdout, tty = run_with_tty_stderr(CLI + ['quality', root, '--json', '--workspace', tempfile.mkdtemp(prefix='acc-ws-')])
    try:
        json.loads(stdout)
    except json.JSONDecodeError:
        problems.append('with a terminal on stderr, quality --json stdout is not pure JSON')
    if not re.search(r'\d+/\d+', tty):
        problems.append(f'no progress bar on a terminal stderr: {tty[:200]!r}')
    npx = subprocess.run(['npx', '--no-install', 'cxr-studio', 'index', root, '--json', '--workspace', ws],
                         capture_output=True, text=True, cwd=REPO)
    try:
        npx_ok = npx.returncode == 0 and len(json.loads(npx.stdout)['images']) == len(truth['images'])
    except json.JSONDecodeError:
        npx_ok = False
    if not npx_ok:
        problems.append(f'npx cxr-studio: exit {npx.returncode} {npx.stderr[:200]}')
    report('CLI contract (item 8): exit 0/1/2, --json only JSON, progress only on a TTY, npx cxr-studio', not problems,
           f'{len(json_commands)} --json commands, {len(usage)} exit-code cases, TTY progress '
           f"{'seen' if re.search(r'[0-9]+/[0-9]+', tty) else 'missing'}" + ''.join(f'\n        - {p}' for p in problems))


# ----------------------------------------------------------------------------------------- bad input

def check_bad_input(truth, work):
    bad = truth['bad']
    root = bad['root']
    locked = os.path.join(root, bad['lockedDir'])
    problems = []
    ws = tempfile.mkdtemp(prefix='acc-ws-bad-')
    os.chmod(ws, 0o777)
    # root reads any folder, so the unreadable folder is read as an unprivileged user
    as_user = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'] if os.geteuid() == 0 else []
    os.chmod(locked, 0)
    try:
        run = lambda args: subprocess.run(as_user + CLI + args + ['--workspace', ws], capture_output=True, text=True, cwd=REPO)
        index = run(['index', root, '--json'])
        quality = run(['quality', root, '--json', '--no-pixels'])
        eda = run(['eda', root, '--json'])
        coco_out = tempfile.mkdtemp(prefix='acc-bad-')
        os.chmod(coco_out, 0o777)
        coco = run(['coco', root, '--out', os.path.join(coco_out, 'coco'), '--json'])
    finally:
        os.chmod(locked, 0o755)
    for name, result in (('index', index), ('quality', quality), ('eda', eda), ('coco', coco)):
        if result.returncode != 0:
            problems.append(f'{name} exits {result.returncode}: {result.stderr.strip()[:200]}')
    if index.returncode == 0:
        data = json.loads(index.stdout)
        errors = {e['path']: e['reason'] for e in data['errors']}
        for kind, path in zip([b['kind'] for b in truth['errors']], bad['brokenPaths']):
            if path not in errors:
                problems.append(f'{kind} file not reported')
        locked_error = [r for p, r in errors.items() if p == bad['lockedDir']]
        if not locked_error or 'EACCES' not in locked_error[0] and 'permission' not in locked_error[0].lower():
            problems.append(f'unreadable folder {bad["lockedDir"]} not reported: {sorted(errors)}')
        if sorted(i['imageId'] for i in data['images']) != sorted(bad['goodImages']):
            problems.append(f"good images not all indexed: {[i['imageId'] for i in data['images']]}")
    if quality.returncode == 0:
        issues = json.loads(quality.stdout)['issues']
        messages = [i['message'] for i in issues]
        for p in bad['imageCsvProblems']:
            where = f"train_image_level.csv:{p['line']}:"
            if not any(m.startswith(where) for m in messages):
                problems.append(f"{p['kind']} not reported as {where}")
        where = f"train_study_level.csv:{bad['studyCsvDuplicateLine']}:"
        if not any(m.startswith(where) and 'duplicate' in m for m in messages):
            problems.append(f'duplicate study id not reported as {where}')
        if not any(i['rule'] == 'csv-row-without-file' and bad['rowWithoutFile'] in i['message'] for i in issues):
            problems.append('row referencing a missing image not reported')
    if eda.returncode == 0 and json.loads(eda.stdout)['images']['total'] < len(bad['goodImages']):
        problems.append('eda lost good rows')
    report('bad input (item 10): each a clear error, the rest still processed', not problems,
           f"{len(bad['brokenPaths'])} broken files, an unreadable folder, malformed boxes, duplicate ids (both CSVs), "
           'a row naming a missing image' + ''.join(f'\n        - {p}' for p in problems))


# ------------------------------------------------------------------------------------------------ main

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', default='/tmp/unseen')
    parser.add_argument('--regen', action='store_true', help='generate the dataset again')
    parser.add_argument('--no-build', action='store_true')
    parser.add_argument('--bench-files', type=int, default=6334, help='files in the index timing tree (default: the real train set size)')
    parser.add_argument('--submissions', type=int, default=25)
    parser.add_argument('--seed', type=int, default=2021)
    parser.add_argument('--keep', action='store_true', help='keep the scratch folder')
    parser.add_argument('--only', help='comma-separated checks: index,decode,coco,yolo,display,quality,eda,bad-row,score,speed,cli,bad-input')
    args = parser.parse_args()

    if not args.no_build:
        subprocess.run(['npm', 'run', '--silent', 'build:node'], cwd=REPO, check=True)
    truth_file = os.path.join(args.data, 'truth', 'truth.json')
    if args.regen or not os.path.exists(truth_file):
        subprocess.run(['/usr/bin/python3', os.path.join(REPO, 'scripts', 'make-unseen-dataset.py'), '--out', args.data],
                       check=True)
    truth = json.load(open(truth_file))
    root = os.path.join(args.data, 'dataset')
    work = tempfile.mkdtemp(prefix='acceptance-')
    os.chmod(work, 0o755)  # the unreadable-folder check runs as an unprivileged user
    tempfile.tempdir = work  # every scratch folder below goes away with it
    ws = os.path.join(work, 'ws')
    print(f'dataset {root} ({len(truth["images"])} images, {len(truth["errors"])} broken files), scratch {work}')
    checks = {
        'index': lambda: check_index(truth, root, ws),
        'decode': lambda: check_decode(truth, root, work, os.path.join(args.data, 'truth', 'pixels')),
        'coco': lambda: check_coco(truth, root, ws, work),
        'yolo': lambda: check_yolo(truth, root, ws, work),
        'display': lambda: check_display(truth, root, work),
        'quality': lambda: check_quality(truth, root, ws),
        'eda': lambda: check_eda(truth, root, ws),
        'bad-row': lambda: check_bad_row(truth, root, ws),
        'score': lambda: check_score(truth, root, work, args.submissions, args.seed),
        'speed': lambda: check_index_speed(root, work, args.bench_files),
        'cli': lambda: check_cli_contract(truth, root, work),
        'bad-input': lambda: check_bad_input(truth, work),
    }
    for name, check in checks.items():
        if args.only and name not in args.only.split(','):
            continue
        try:
            check()
        except Exception as err:  # noqa: BLE001 - a crashed check is a failed point, the others still run
            report(name, False, f'crashed: {type(err).__name__}: {err}')
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    failed = [point for point, ok in RESULTS if not ok]
    print(f"\n{len(RESULTS) - len(failed)}/{len(RESULTS)} points pass" + (f"; failing: {', '.join(failed)}" if failed else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
