#!/usr/bin/python3
"""Builds a Kaggle-layout SIIM-FISABIO-RSNA dataset that CXR Studio has never seen, for acceptance tests.

    /usr/bin/python3 scripts/make-unseen-dataset.py [--out /tmp/unseen] [--seed 7]

Written by other tools than the project's own DICOM writer: pydicom writes explicit VR little endian
files, then dcmtk (dcmconv, dcmcrle, dcmcjpeg, dcmcjpls) and gdcm (gdcmconv) transcode them into
every transfer syntax of issue 2. The CSVs are written the way pandas' `to_csv(index=False)` writes
the Kaggle tables (Python-literal `boxes`, quoted when it holds commas, empty when there are none).

OUT/dataset/   train/<study>/<series>/<image>.dcm, test/..., train_study_level.csv,
               train_image_level.csv, sample_submission.csv, plus broken files and one malformed row
OUT/bad/       item 10 of the issue: every kind of bad input next to good files (a folder made
               unreadable, duplicate ids, a row naming a missing image, a malformed boxes literal)
OUT/truth/     truth.json (what index/eda/coco must report, computed here from the generator's own
               model, never by parsing the CSVs back) and pixels/<imageId>.npy (the stored values
               before encoding, for the lossless syntaxes)

Needs: python3-pydicom, python3-numpy, dcmtk, libgdcm-tools (Debian). The output stays outside the
repository; only this script is committed.
"""
import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

SOP_DX = '1.2.840.10008.5.1.4.1.1.1.1'
SOP_CR = '1.2.840.10008.5.1.4.1.1.1'

# syntax key -> (transfer syntax UID, transcoding command or None for pydicom's own output, lossless)
SYNTAXES = {
    'explicit': ('1.2.840.10008.1.2.1', None, True),
    'implicit': ('1.2.840.10008.1.2', ['dcmconv', '+ti'], True),
    'big-endian': ('1.2.840.10008.1.2.2', ['dcmconv', '+tb'], True),
    'deflated': ('1.2.840.10008.1.2.1.99', ['dcmconv', '+td'], True),
    'rle': ('1.2.840.10008.1.2.5', ['dcmcrle'], True),
    'jpeg-p14': ('1.2.840.10008.1.2.4.57', ['dcmcjpeg', '+el'], True),
    'jpeg-p14-sv3': ('1.2.840.10008.1.2.4.57', ['dcmcjpeg', '+el', '+sv', '3'], True),
    'jpeg-sv1': ('1.2.840.10008.1.2.4.70', ['dcmcjpeg', '+e1'], True),
    'jpeg-sv1-fragments': ('1.2.840.10008.1.2.4.70', ['dcmcjpeg', '+e1', '+fs', '16', '-ot'], True),
    'jpeg-baseline': ('1.2.840.10008.1.2.4.50', ['dcmcjpeg', '+eb', '+q', '85'], False),
    'jpeg-extended': ('1.2.840.10008.1.2.4.51', ['dcmcjpeg', '+ee', '+q', '90'], False),
    'jpegls': ('1.2.840.10008.1.2.4.80', ['dcmcjpls', '+el'], True),
    'jpegls-fragments': ('1.2.840.10008.1.2.4.80', ['dcmcjpls', '+el', '+fs', '32'], True),
    'jpegls-near': ('1.2.840.10008.1.2.4.81', ['dcmcjpls', '+en', '+md', '3'], False),
    'j2k': ('1.2.840.10008.1.2.4.90', ['gdcmconv', '--j2k'], True),
    # a rate, not -q: gdcm's PSNR quality flattens 12-bit images held in 16-bit codestreams to one value
    'j2k-lossy': ('1.2.840.10008.1.2.4.91', ['gdcmconv', '--j2k', '--lossy', '-r', '10'], False),
}

# Train images: (key, rows, cols, bitsAllocated, bitsStored, signed, photometric, slope, intercept, syntax, extras)
# slope/intercept are the DS strings written in the file (None: the tags are absent).
TRAIN_IMAGES = [
    ('big16', 2544, 3056, 16, 16, False, 'MONOCHROME2', None, None, 'explicit', {'window': ('32768', '65535')}),
    ('big12m1', 2990, 2436, 16, 12, False, 'MONOCHROME1', None, None, 'j2k', {}),
    ('big14', 2048, 2500, 16, 14, False, 'MONOCHROME2', '1', '-1024', 'jpegls-fragments', {}),
    ('big16sv1', 2800, 2301, 16, 16, False, 'MONOCHROME2', None, None, 'jpeg-sv1', {}),
    ('odd12', 1021, 877, 16, 12, False, 'MONOCHROME2', None, None, 'explicit',
     {'window': ('2048\\1800', '4096\\3000'), 'spacing': ('0.139', '0.139')}),
    ('odd10m1', 855, 1100, 16, 10, False, 'MONOCHROME1', None, None, 'implicit', {'imager_spacing': ('0.15', '0.15')}),
    ('s12be', 997, 1001, 16, 12, True, 'MONOCHROME2', '1', '-1024', 'big-endian', {}),
    ('half16', 1517, 1263, 16, 16, False, 'MONOCHROME2', '0.5', '0', 'deflated', {}),
    ('s16rle', 1200, 1000, 16, 16, True, 'MONOCHROME2', '1.7', '-100.25', 'rle', {}),
    ('rle12m1', 900, 1101, 16, 12, False, 'MONOCHROME1', None, None, 'rle', {}),
    ('p14', 1024, 1023, 16, 12, False, 'MONOCHROME2', None, None, 'jpeg-p14', {}),
    ('p14sv3', 777, 1003, 16, 16, False, 'MONOCHROME1', None, None, 'jpeg-p14-sv3', {}),
    ('sv1u16', 1100, 901, 16, 16, False, 'MONOCHROME2', None, None, 'jpeg-sv1-fragments', {}),
    ('sv1s12', 1001, 999, 16, 12, True, 'MONOCHROME2', None, None, 'jpeg-sv1', {}),
    ('sv1m1', 800, 1000, 16, 14, False, 'MONOCHROME1', '2', '0', 'jpeg-sv1', {}),
    ('ls10', 1000, 800, 16, 10, False, 'MONOCHROME2', None, None, 'jpegls', {}),
    ('lss16', 1003, 1111, 16, 16, True, 'MONOCHROME2', None, None, 'jpegls', {}),
    ('lsnear12', 1200, 1024, 16, 12, False, 'MONOCHROME2', None, None, 'jpegls-near', {}),
    ('lsnear14m1', 980, 1201, 16, 14, False, 'MONOCHROME1', None, None, 'jpegls-near', {}),
    ('j2k12', 1100, 1000, 16, 12, False, 'MONOCHROME2', '1.0000', '-1024.5', 'j2k', {}),
    ('j2ks16', 901, 1201, 16, 16, True, 'MONOCHROME2', None, None, 'j2k', {}),
    ('j2klossy12', 1000, 1000, 16, 12, False, 'MONOCHROME2', None, None, 'j2k-lossy', {}),
    ('j2klossy16m1', 1111, 999, 16, 16, False, 'MONOCHROME1', None, None, 'j2k-lossy', {}),
    ('base8', 1024, 1024, 8, 8, False, 'MONOCHROME2', None, None, 'jpeg-baseline', {}),
    ('base8m1', 1000, 777, 8, 8, False, 'MONOCHROME1', None, None, 'jpeg-baseline', {}),
    ('ext12', 1100, 900, 16, 12, False, 'MONOCHROME2', None, None, 'jpeg-extended', {}),
    ('ext10m1', 900, 1000, 16, 10, False, 'MONOCHROME1', '0.25', '10.5', 'jpeg-extended', {}),
    ('nat8', 701, 803, 8, 8, False, 'MONOCHROME2', None, None, 'explicit', {}),
    # 12 bits stored with overlay junk in bits 12-15: DICOM says mask them off
    ('junk12', 1000, 1000, 16, 12, False, 'MONOCHROME2', None, None, 'explicit', {'high_junk': True}),
    # signed 12-bit stored without sign extension in bits 12-15: the decoder must extend the sign
    ('s12masked', 1000, 990, 16, 12, True, 'MONOCHROME2', None, None, 'explicit', {'mask_signed': True}),
    ('imp2', 1024, 1000, 16, 12, False, 'MONOCHROME2', '2.0', '0', 'implicit', {}),
    ('def16', 1010, 1010, 16, 16, False, 'MONOCHROME2', None, None, 'deflated', {}),
    ('s14j2k', 960, 1280, 16, 14, True, 'MONOCHROME1', '1', '0', 'j2k', {}),
    # multi-image studies (see STUDIES)
    ('dupA', 1200, 1000, 16, 12, False, 'MONOCHROME2', None, None, 'jpegls', {}),
    ('dupB', 1200, 1000, 16, 12, False, 'MONOCHROME2', None, None, 'rle', {'same_pixels_as': 'dupA'}),
    ('triA', 1000, 1200, 16, 12, False, 'MONOCHROME1', None, None, 'j2k', {}),
    ('triB', 1000, 1200, 16, 12, False, 'MONOCHROME1', None, None, 'explicit', {}),
    ('triC', 1000, 1200, 16, 12, False, 'MONOCHROME1', None, None, 'jpeg-sv1', {}),
    ('negA', 900, 900, 16, 12, False, 'MONOCHROME2', None, None, 'explicit', {}),
    ('negB', 900, 900, 16, 12, False, 'MONOCHROME2', None, None, 'implicit', {}),
    ('atyA', 1000, 1000, 16, 10, False, 'MONOCHROME2', None, None, 'rle', {}),
    ('atyB', 1000, 1000, 16, 10, False, 'MONOCHROME2', None, None, 'jpeg-p14', {}),
]

TEST_IMAGES = [
    ('t_exp', 1000, 900, 16, 12, False, 'MONOCHROME2', None, None, 'explicit', {}),
    ('t_ls', 1100, 1000, 16, 16, False, 'MONOCHROME1', None, None, 'jpegls', {}),
    ('t_j2k', 900, 1000, 16, 12, False, 'MONOCHROME2', None, None, 'j2k', {}),
    ('t_rle', 1000, 1000, 16, 14, False, 'MONOCHROME2', None, None, 'rle', {}),
    ('t_sv1', 950, 1050, 16, 12, False, 'MONOCHROME1', None, None, 'jpeg-sv1', {}),
    ('t_exp2', 800, 800, 16, 12, False, 'MONOCHROME2', None, None, 'explicit', {}),
]

# Studies: (class, [(image key, number of boxes, box float style)]). Box styles: 'kaggle' (5 decimals),
# 'repr' (full Python repr), 'int' (Python ints), 'dotzero' (whole floats, printed 512.0).
STUDIES = [
    ('typical', [('big16', 2, 'kaggle')]),
    ('negative', [('big12m1', 0, None)]),
    ('typical', [('big14', 1, 'repr')]),
    ('atypical', [('big16sv1', 1, 'kaggle')]),
    ('indeterminate', [('odd12', 3, 'kaggle')]),
    ('negative', [('odd10m1', 0, None)]),
    ('typical', [('s12be', 2, 'int')]),
    ('typical', [('half16', 1, 'dotzero')]),
    ('negative', [('s16rle', 0, None)]),
    ('indeterminate', [('rle12m1', 1, 'kaggle')]),
    ('typical', [('p14', 4, 'kaggle')]),  # the malformed CSV row belongs to this image (see MALFORMED)
    ('negative', [('p14sv3', 0, None)]),
    ('atypical', [('sv1u16', 2, 'repr')]),
    ('typical', [('sv1s12', 1, 'kaggle')]),
    ('negative', [('sv1m1', 0, None)]),
    ('typical', [('ls10', 2, 'kaggle')]),
    ('indeterminate', [('lss16', 1, 'kaggle')]),
    ('negative', [('lsnear12', 0, None)]),
    ('typical', [('lsnear14m1', 3, 'repr')]),
    ('typical', [('j2k12', 0, None)]),  # a positive study without boxes
    ('negative', [('j2ks16', 0, None)]),
    ('atypical', [('j2klossy12', 1, 'kaggle')]),
    ('typical', [('j2klossy16m1', 2, 'kaggle')]),
    ('negative', [('base8', 0, None)]),
    ('typical', [('base8m1', 1, 'int')]),
    ('indeterminate', [('ext12', 2, 'kaggle')]),
    ('negative', [('ext10m1', 0, None)]),
    ('typical', [('nat8', 1, 'kaggle')]),
    ('negative', [('junk12', 0, None)]),
    ('typical', [('s12masked', 1, 'kaggle')]),
    ('negative', [('imp2', 0, None)]),
    ('indeterminate', [('def16', 1, 'repr')]),
    ('typical', [('s14j2k', 2, 'kaggle')]),
    ('typical', [('dupA', 2, 'kaggle'), ('dupB', 0, None)]),  # boxed image + unlabelled pixel duplicate
    ('indeterminate', [('triA', 1, 'kaggle'), ('triB', 2, 'repr'), ('triC', 0, None)]),
    ('negative', [('negA', 0, None), ('negB', 0, None)]),
    ('atypical', [('atyA', 0, None), ('atyB', 0, None)]),  # multi-image positive study, nobody boxed
]
MALFORMED_IMAGE = 'p14'

# Broken files (each in its own study, with CSV rows as the real set would have): key -> kind
BROKEN = ['empty', 'truncated-pixels', 'truncated-header', 'truncated-fragment', 'not-dicom',
          'garbage-after-dicm', 'no-pixel-data', 'unknown-syntax', 'mpeg2-syntax']
BROKEN_WITH_BOXES = {'truncated-pixels': 1}


def run(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f'make-unseen-dataset: {" ".join(cmd)} failed:\n{result.stdout}{result.stderr}')


def hex_id(rng, used):
    while True:
        value = ''.join(rng.choice(list('0123456789abcdef'), 12))
        if value not in used:
            used.add(value)
            return value


def phantom(rows, cols, rng):
    """A chest-like picture in [0, 1]: bright body, two darker lungs, spine, soft noise."""
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float64)
    y /= rows
    x /= cols
    body = np.exp(-(((x - 0.5) / 0.45) ** 4 + ((y - 0.55) / 0.5) ** 4))
    lungs = sum(np.exp(-(((x - cx) / 0.16) ** 2 + ((y - 0.5) / 0.28) ** 2)) for cx in (0.32, 0.68))
    spine = np.exp(-((x - 0.5) / 0.04) ** 2) * 0.3
    img = 0.15 + 0.75 * body - 0.45 * lungs + spine + 0.08 * y
    img += rng.normal(0, 0.02, size=img.shape)
    lo, hi = img.min(), img.max()
    return (img - lo) / (hi - lo)


def stored_values(spec, rng, cache):
    key, rows, cols, bits_alloc, bits_stored, signed = spec[:6]
    extras = spec[10]
    if 'same_pixels_as' in extras:
        return cache[extras['same_pixels_as']].copy()
    lo, hi = (-(1 << (bits_stored - 1)), (1 << (bits_stored - 1)) - 1) if signed else (0, (1 << bits_stored) - 1)
    values = np.round(lo + phantom(rows, cols, rng) * (hi - lo)).astype(np.int64)
    # the extremes of the range occur, as in real exposures (and catch off-by-one masking)
    values.flat[0], values.flat[-1], values.flat[cols + 1] = lo, hi, hi
    dtype = (np.int16 if signed else np.uint16) if bits_alloc == 16 else np.uint8
    return values.astype(dtype)


def pixel_bytes(values, spec):
    bits_stored, signed, extras = spec[4], spec[5], spec[10]
    raw = values.copy()
    if extras.get('high_junk'):
        # overlay-style bits above Bits Stored that readers must ignore
        junk = (np.arange(raw.size, dtype=np.uint16).reshape(raw.shape) % 7) << bits_stored
        raw = (raw.astype(np.uint16) | junk.astype(np.uint16))
    if extras.get('mask_signed'):
        raw = (raw.view(np.uint16) & ((1 << bits_stored) - 1)).astype(np.uint16)
    data = raw.tobytes()
    return data + b'\0' if len(data) % 2 else data


def write_explicit(path, spec, values, ids, rng):
    key, rows, cols, bits_alloc, bits_stored, signed, photometric, slope, intercept, _syntax, extras = spec
    meta = FileMetaDataset()
    sop_class = SOP_DX if rng.random() < 0.5 else SOP_CR
    sop_uid = generate_uid()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = '1.2.826.0.1.3680043.8.498.1'
    ds = FileDataset(path, {}, file_meta=meta, preamble=b'\0' * 128)
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = ids['studyUid']
    ds.SeriesInstanceUID = ids['seriesUid']
    ds.PatientID = ids['patient']
    ds.PatientName = 'Anonymous'
    ds.Modality = 'DX' if sop_class == SOP_DX else 'CR'
    ds.BodyPartExamined = 'CHEST'
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = bits_alloc
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    if 'spacing' in extras:
        ds.PixelSpacing = list(extras['spacing'])
    if 'imager_spacing' in extras:
        ds.ImagerPixelSpacing = list(extras['imager_spacing'])
    if 'window' in extras:
        ds.add_new(0x00281050, 'DS', extras['window'][0])
        ds.add_new(0x00281051, 'DS', extras['window'][1])
    if slope is not None:
        ds.add_new(0x00281053, 'DS', slope)
        ds.add_new(0x00281052, 'DS', intercept)
        ds.RescaleType = 'US'
    ds.add_new(0x7FE00010, 'OB' if bits_alloc == 8 else 'OW', pixel_bytes(values, spec))
    ds.save_as(path, write_like_original=False)


def encode(spec, values, final_path, ids, rng, work):
    syntax = spec[9]
    uid, command, _ = SYNTAXES[syntax]
    os.makedirs(os.path.dirname(final_path), exist_ok=True)
    if command is None:
        write_explicit(final_path, spec, values, ids, rng)
    else:
        source = os.path.join(work, f'{spec[0]}-explicit.dcm')
        write_explicit(source, spec, values, ids, rng)
        run(command + [source, final_path])
        os.remove(source)
    written = pydicom.dcmread(final_path, stop_before_pixels=True)
    if written.file_meta.TransferSyntaxUID != uid:
        sys.exit(f'{final_path}: expected {uid}, the tool wrote {written.file_meta.TransferSyntaxUID}')


def box_value(value, style):
    if style == 'kaggle':
        return round(value, 5)
    if style == 'int':
        return int(round(value))
    if style == 'dotzero':
        return float(round(value))
    return value  # 'repr': every digit of a computed float


def make_boxes(rng, rows, cols, count, style):
    boxes = []
    for _ in range(count):
        width = rng.uniform(0.08, 0.35) * cols
        height = rng.uniform(0.1, 0.45) * rows
        x = rng.uniform(0, cols - width - 1)
        y = rng.uniform(0, rows - height - 1)
        boxes.append({k: box_value(v, style) for k, v in (('x', x), ('y', y), ('width', width), ('height', height))})
    return boxes


def label_text(boxes):
    if not boxes:
        return 'none 1 0 0 1 1'
    r = lambda v: repr(round(float(v), 5)).rstrip('0').rstrip('.') if isinstance(v, float) else str(v)
    return ' '.join(
        f"opacity 1 {r(b['x'])} {r(b['y'])} {r(b['x'] + b['width'])} {r(b['y'] + b['height'])}" for b in boxes)


def write_csv(path, header, rows, lineterminator='\n'):
    # what pandas.DataFrame.to_csv(index=False) writes: minimal quoting, NaN as an empty field
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator=lineterminator)
    writer.writerow(header)
    writer.writerows(rows)
    with open(path, 'w', newline='') as f:
        f.write(buffer.getvalue())
    return buffer.getvalue().split(lineterminator)


def broken_file(kind, path, rng, work, ids):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    spec = ('b', 512, 512, 16, 12, False, 'MONOCHROME2', None, None, 'explicit', {})
    values = stored_values(spec, rng, {})
    if kind == 'empty':
        open(path, 'wb').close()
        return 'empty file'
    if kind == 'not-dicom':
        with open(path, 'wb') as f:
            f.write(b'\x89PNG\r\n\x1a\n' + bytes(rng.integers(0, 256, 3000, dtype=np.uint8)))
        return 'not a DICOM file'
    if kind == 'garbage-after-dicm':
        with open(path, 'wb') as f:
            f.write(b'\0' * 128 + b'DICM' + bytes(rng.integers(0, 256, 5000, dtype=np.uint8)))
        return 'garbage after the DICM marker'
    source = os.path.join(work, 'broken-source.dcm')
    write_explicit(source, spec, values, ids, rng)
    if kind == 'truncated-pixels':
        data = open(source, 'rb').read()
        open(path, 'wb').write(data[: int(len(data) * 0.6)])
        return 'truncated file (pixel data cut)'
    if kind == 'truncated-header':
        data = open(source, 'rb').read()
        open(path, 'wb').write(data[:300])
        return 'truncated file (header cut)'
    if kind == 'truncated-fragment':
        compressed = os.path.join(work, 'broken-ls.dcm')
        run(['dcmcjpls', source, compressed])
        data = open(compressed, 'rb').read()
        open(path, 'wb').write(data[: len(data) - 4000])
        return 'truncated file (compressed fragment cut)'
    if kind == 'no-pixel-data':
        ds = pydicom.dcmread(source)
        del ds.PixelData
        ds.save_as(path)
        return 'no pixel data'
    if kind in ('unknown-syntax', 'mpeg2-syntax'):
        ds = pydicom.dcmread(source)
        uid = '1.2.826.0.1.3680043.9.7777.1.2' if kind == 'unknown-syntax' else '1.2.840.10008.1.2.4.100'
        fragment = bytes(rng.integers(0, 256, 4096, dtype=np.uint8))
        ds.file_meta.TransferSyntaxUID = uid
        ds.PixelData = pydicom.encaps.encapsulate([fragment])
        ds['PixelData'].is_undefined_length = True
        ds['PixelData'].VR = 'OB'
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.save_as(path, write_like_original=True)
        return f'unsupported transfer syntax {uid}'
    raise ValueError(kind)


def header_truth(path, rel, ids, split, lossless, syntax):
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    num = lambda v: [float(x) for x in (v if isinstance(v, pydicom.multival.MultiValue) else [v])]
    spacing = ds.get('PixelSpacing') or ds.get('ImagerPixelSpacing')
    return {
        'path': rel, 'studyId': ids['study'], 'seriesId': ids['series'], 'imageId': ids['image'], 'split': split,
        'rows': int(ds.Rows), 'columns': int(ds.Columns), 'bitsAllocated': int(ds.BitsAllocated),
        'bitsStored': int(ds.BitsStored), 'pixelRepresentation': int(ds.PixelRepresentation),
        'photometric': str(ds.PhotometricInterpretation), 'transferSyntaxUid': str(ds.file_meta.TransferSyntaxUID),
        'modality': str(ds.Modality),
        'rescaleSlope': float(ds.RescaleSlope) if 'RescaleSlope' in ds else 1.0,
        'rescaleIntercept': float(ds.RescaleIntercept) if 'RescaleIntercept' in ds else 0.0,
        'windowCenter': num(ds.WindowCenter) if 'WindowCenter' in ds else None,
        'windowWidth': num(ds.WindowWidth) if 'WindowWidth' in ds else None,
        'pixelSpacing': [float(spacing[0]), float(spacing[1])] if spacing else None,
        'syntax': syntax, 'lossless': lossless, 'size': os.path.getsize(path),
    }


def eda_truth(study_rows, image_rows):
    """The counts of `eda --json`, from the generator's model (valid rows only)."""
    cls_of = {s['studyId']: s['cls'] for s in study_rows}
    studies = {'total': len(study_rows), 'negative': 0, 'typical': 0, 'indeterminate': 0, 'atypical': 0}
    for s in study_rows:
        studies[s['cls']] += 1
    with_boxes = sum(1 for r in image_rows if r['boxes'])
    per_image = {}
    rows_per_study = {}
    for r in image_rows:
        hist = per_image.setdefault(cls_of.get(r['studyId'], 'unknown'), {})
        hist[str(len(r['boxes']))] = hist.get(str(len(r['boxes'])), 0) + 1
        rows_per_study[r['studyId']] = rows_per_study.get(r['studyId'], 0) + 1
    images_per_study = {}
    for s in study_rows:
        n = str(rows_per_study.get(s['studyId'], 0))
        images_per_study[n] = images_per_study.get(n, 0) + 1
    positive = lambda sid: cls_of.get(sid) not in (None, 'negative')
    pos_images = sum(1 for r in image_rows if not r['boxes'] and positive(r['studyId']))
    boxed_studies = {r['studyId'] for r in image_rows if r['boxes']}
    pos_studies = sum(1 for s in study_rows if s['cls'] != 'negative' and rows_per_study.get(s['studyId'], 0) > 0
                      and s['studyId'] not in boxed_studies)
    return {
        'studies': studies,
        'images': {'total': len(image_rows), 'withBoxes': with_boxes, 'withoutBoxes': len(image_rows) - with_boxes},
        'boxes': {'total': sum(len(r['boxes']) for r in image_rows)},
        'boxesPerImage': per_image,
        'imagesPerStudy': images_per_study,
        'positivesWithoutBoxes': {'images': pos_images, 'studies': pos_studies},
    }


def coco_truth(image_rows, headers):
    """keep-boxed: in a study with boxed images keep only those; else keep all (readable, labelled train files)."""
    by_study = {}
    for r in image_rows:
        if r['imageId'] in headers and headers[r['imageId']]['split'] == 'train':
            by_study.setdefault(r['studyId'], []).append(r)
    kept = {}
    for study, group in by_study.items():
        boxed = [r for r in group if r['boxes']]
        for r in (boxed or group):
            h = headers[r['imageId']]
            kept[r['imageId']] = {
                'studyId': study, 'width': h['columns'], 'height': h['rows'],
                'boxes': [[b['x'], b['y'], b['width'], b['height']] for b in r['boxes']],
            }
    return kept


def build(out, seed):
    rng = np.random.default_rng(seed)
    used = set()
    dataset = os.path.join(out, 'dataset')
    truth_dir = os.path.join(out, 'truth')
    for folder in (dataset, truth_dir, os.path.join(out, 'bad')):
        if os.path.exists(folder):
            subprocess.run(['chmod', '-R', 'u+rwx', folder])
            shutil.rmtree(folder)
    os.makedirs(os.path.join(truth_dir, 'pixels'))
    work = tempfile.mkdtemp(prefix='unseen-work-')
    specs = {s[0]: s for s in TRAIN_IMAGES + TEST_IMAGES}
    values_cache = {}
    headers = {}  # imageId -> header truth
    study_rows, image_rows = [], []
    csv_image_lines = []  # (imageId, row) in file order

    def add_image(key, split, study, series_of):
        spec = specs[key]
        series = series_of()
        image = hex_id(rng, used)
        ids = {'study': study, 'series': series, 'image': image, 'studyUid': generate_uid(),
               'seriesUid': generate_uid(), 'patient': hex_id(rng, used)}
        values = stored_values(spec, rng, values_cache)
        values_cache[key] = values
        rel = f'{split}/{study}/{series}/{image}.dcm'
        encode(spec, values, os.path.join(dataset, rel), ids, rng, work)
        lossless = SYNTAXES[spec[9]][2]
        headers[image] = header_truth(os.path.join(dataset, rel), rel, ids, split, lossless, spec[9])
        headers[image]['key'] = key
        np.save(os.path.join(truth_dir, 'pixels', f'{image}.npy'), values)
        return image, spec

    for cls, members in STUDIES:
        study = hex_id(rng, used)
        shared_series = hex_id(rng, used)
        study_rows.append({'studyId': study, 'cls': cls})
        for i, (key, n_boxes, style) in enumerate(members):
            # duplicates of a study sit in their own series half the time, as in the real set
            series_of = (lambda: shared_series) if i % 2 == 0 else (lambda: hex_id(rng, used))
            image, spec = add_image(key, 'train', study, series_of)
            boxes = make_boxes(rng, spec[1], spec[2], n_boxes, style)
            csv_image_lines.append({'imageId': image, 'studyId': study, 'boxes': boxes, 'key': key})

    broken_truth = []
    for kind in BROKEN:
        study, series, image = hex_id(rng, used), hex_id(rng, used), hex_id(rng, used)
        rel = f'train/{study}/{series}/{image}.dcm'
        ids = {'study': study, 'series': series, 'image': image, 'studyUid': generate_uid(),
               'seriesUid': generate_uid(), 'patient': 'broken'}
        why = broken_file(kind, os.path.join(dataset, rel), rng, work, ids)
        broken_truth.append({'path': rel, 'kind': kind, 'why': why, 'imageId': image})
        n_boxes = BROKEN_WITH_BOXES.get(kind, 0)
        study_rows.append({'studyId': study, 'cls': 'typical' if n_boxes else 'negative'})
        csv_image_lines.append({'imageId': image, 'studyId': study, 'boxes': make_boxes(rng, 512, 512, n_boxes, 'kaggle'),
                                'key': kind})

    test_ids = []
    for spec in TEST_IMAGES:
        study = hex_id(rng, used)
        image, _ = add_image(spec[0], 'test', study, lambda: hex_id(rng, used))
        test_ids.append((study, image))

    # file order: shuffled as Kaggle's is (by id), so a study's rows are not adjacent
    order = rng.permutation(len(csv_image_lines))
    csv_image_lines = [csv_image_lines[i] for i in order]
    study_order = rng.permutation(len(study_rows))
    study_rows = [study_rows[i] for i in study_order]

    rows = []
    malformed = None
    for n, row in enumerate(csv_image_lines):
        boxes_text = str(row['boxes']) if row['boxes'] else ''
        if row['key'] == MALFORMED_IMAGE:
            # a hand-edited row: the comma before 'height' is missing, so the literal does not parse
            boxes_text = boxes_text.replace(", 'height'", " 'height'", 1)
            malformed = {'file': 'train_image_level.csv', 'line': n + 2, 'imageId': row['imageId']}
        rows.append([f"{row['imageId']}_image", boxes_text, label_text(row['boxes']), row['studyId']])
    write_csv(os.path.join(dataset, 'train_image_level.csv'), ['id', 'boxes', 'label', 'StudyInstanceUID'], rows)
    onehot = ['negative', 'typical', 'indeterminate', 'atypical']
    write_csv(os.path.join(dataset, 'train_study_level.csv'),
              ['id', 'Negative for Pneumonia', 'Typical Appearance', 'Indeterminate Appearance', 'Atypical Appearance'],
              [[f"{s['studyId']}_study"] + [int(s['cls'] == c) for c in onehot] for s in study_rows],
              lineterminator='\r\n')
    sample = [[f'{study}_study', 'negative 1 0 0 1 1'] for study, _ in test_ids]
    sample += [[f'{image}_image', 'none 1 0 0 1 1'] for _, image in test_ids]
    write_csv(os.path.join(dataset, 'sample_submission.csv'), ['id', 'PredictionString'], sample)

    valid_image_rows = [r for r in csv_image_lines if r['key'] != MALFORMED_IMAGE]
    images = sorted(headers.values(), key=lambda h: h['path'])
    truth = {
        'seed': seed,
        'images': images,
        'errors': sorted(broken_truth, key=lambda b: b['path']),
        'labelErrors': [malformed],
        'studyRows': study_rows,
        'imageRows': [{'imageId': r['imageId'], 'studyId': r['studyId'], 'boxes': r['boxes']} for r in valid_image_rows],
        'eda': eda_truth(study_rows, valid_image_rows),
        'coco': coco_truth(valid_image_rows, headers),
        'multiImageStudies': sorted({r['studyId'] for r in csv_image_lines
                                     if sum(1 for q in csv_image_lines if q['studyId'] == r['studyId']) > 1}),
        'pixelIdentical': [[h['imageId'] for h in images if h['key'] in ('dupA', 'dupB')]],
        'test': [{'studyId': s, 'imageId': i} for s, i in test_ids],
    }
    truth['bad'] = build_bad(out, dataset, truth, rng, used, work)
    with open(os.path.join(truth_dir, 'truth.json'), 'w') as f:
        json.dump(truth, f, indent=1)
    shutil.rmtree(work)
    print(f'{dataset}: {len(images)} images ({sum(1 for h in images if h["split"] == "train")} train), '
          f'{len(broken_truth)} broken files, {len(study_rows)} study rows, {len(csv_image_lines)} image rows '
          f'(malformed: line {malformed["line"]}); truth in {truth_dir}')


def build_bad(out, dataset, truth, rng, used, work):
    """Item 10: every kind of bad input beside good files, in one folder; returns what must be reported."""
    bad = os.path.join(out, 'bad')
    good = [h for h in truth['images'] if h['split'] == 'train' and h['key'] in ('odd12', 'rle12m1', 'ls10', 'negA')]
    rows_by_image = {r['imageId']: r for r in truth['imageRows']}
    for h in good:
        os.makedirs(os.path.dirname(os.path.join(bad, h['path'])), exist_ok=True)
        shutil.copy2(os.path.join(dataset, h['path']), os.path.join(bad, h['path']))
    for b in truth['errors']:
        os.makedirs(os.path.dirname(os.path.join(bad, b['path'])), exist_ok=True)
        shutil.copy2(os.path.join(dataset, b['path']), os.path.join(bad, b['path']))
    # a good file inside a folder nobody may read (the check script makes it unreadable, then restores it)
    locked_study, locked_series, locked_image = hex_id(rng, used), hex_id(rng, used), hex_id(rng, used)
    locked_dir = f'train/{locked_study}/{locked_series}'
    os.makedirs(os.path.join(bad, locked_dir))
    shutil.copy2(os.path.join(dataset, good[0]['path']), os.path.join(bad, locked_dir, f'{locked_image}.dcm'))
    missing_image, missing_study = hex_id(rng, used), hex_id(rng, used)

    lines = []  # (id, boxes, label, study, expectation)
    for h in good:
        r = rows_by_image[h['imageId']]
        lines.append([f"{h['imageId']}_image", str(r['boxes']) if r['boxes'] else '', label_text(r['boxes']),
                      h['studyId'], None])
    lines.append([f'{missing_image}_image', "[{'x': 10.0, 'y': 20.0, 'width': 30.0, 'height': 40.0}]",
                  'opacity 1 10.0 20.0 40.0 60.0', missing_study, 'row-without-file'])
    dup = lines[1]
    lines.append([dup[0], '', 'none 1 0 0 1 1', dup[3], 'duplicate-id'])
    lines.append([f'{locked_image}_image', "[{'x': 10.0, 'y': 20.0, 'width': 30.0, 'height': 40.0}",
                  'opacity 1 10.0 20.0 40.0 60.0', locked_study, 'malformed-boxes'])
    write_csv(os.path.join(bad, 'train_image_level.csv'), ['id', 'boxes', 'label', 'StudyInstanceUID'],
              [line[:4] for line in lines])
    study_ids = sorted({h['studyId'] for h in good}) + [missing_study, locked_study]
    cls_of = {s['studyId']: s['cls'] for s in truth['studyRows']}
    study_lines = [[f'{s}_study'] + [int(cls_of.get(s, 'typical') == c) for c in
                                     ['negative', 'typical', 'indeterminate', 'atypical']] for s in study_ids]
    study_lines.append(list(study_lines[0]))  # a repeated study id
    write_csv(os.path.join(bad, 'train_study_level.csv'),
              ['id', 'Negative for Pneumonia', 'Typical Appearance', 'Indeterminate Appearance', 'Atypical Appearance'],
              study_lines)
    return {
        'root': bad,
        'goodImages': [h['imageId'] for h in good],
        'brokenPaths': [b['path'] for b in truth['errors']],
        'lockedDir': locked_dir,
        'imageCsvProblems': [{'line': i + 2, 'kind': line[4], 'imageId': line[0][:-6]}
                             for i, line in enumerate(lines) if line[4] and line[4] != 'row-without-file'],
        'rowWithoutFile': missing_image,
        'studyCsvDuplicateLine': len(study_lines) + 1,
    }


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='/tmp/unseen')
    parser.add_argument('--seed', type=int, default=7)
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
    if out == repo or out.startswith(repo + os.sep):
        sys.exit('make-unseen-dataset: write the dataset outside the repository (e.g. --out /tmp/unseen)')
    build(out, args.seed)
