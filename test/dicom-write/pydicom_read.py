"""Reads DICOM files with pydicom (an independent reader) and prints one JSON object per file.

Usage: /usr/bin/python3 pydicom_read.py FILE... ; pixels are base64 of little-endian int32 values
after pydicom's own decoding (no modality LUT), so tests can compare them with what was written.
"""
import base64
import json
import sys

import numpy as np
import pydicom


def describe(path):
    ds = pydicom.dcmread(path)
    meta = ds.file_meta
    out = {
        "path": path,
        "transferSyntax": str(meta.TransferSyntaxUID),
        "mediaStorageSopClass": str(meta.MediaStorageSOPClassUID),
        "implementationClassUid": str(meta.get("ImplementationClassUID", "")),
        "metaGroupLength": int(meta.get("FileMetaInformationGroupLength", -1)),
        "sopClass": str(ds.SOPClassUID),
        "sopInstanceUid": str(ds.SOPInstanceUID),
        "studyInstanceUid": str(ds.StudyInstanceUID),
        "seriesInstanceUid": str(ds.SeriesInstanceUID),
        "patientId": str(ds.get("PatientID", "")),
        "modality": str(ds.Modality),
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "bitsAllocated": int(ds.BitsAllocated),
        "bitsStored": int(ds.BitsStored),
        "highBit": int(ds.HighBit),
        "pixelRepresentation": int(ds.PixelRepresentation),
        "photometric": str(ds.PhotometricInterpretation),
        "windowCenter": float(ds.WindowCenter) if "WindowCenter" in ds else None,
        "windowWidth": float(ds.WindowWidth) if "WindowWidth" in ds else None,
        "rescaleSlope": float(ds.RescaleSlope) if "RescaleSlope" in ds else None,
        "rescaleIntercept": float(ds.RescaleIntercept) if "RescaleIntercept" in ds else None,
        "lossy": str(ds.get("LossyImageCompression", "")),
    }
    if "--no-pixels" not in sys.argv:
        pixels = ds.pixel_array.astype("<i4")
        out["pixels"] = base64.b64encode(pixels.tobytes()).decode("ascii")
    return out


for arg in sys.argv[1:]:
    if arg.startswith("--"):
        continue
    try:
        print(json.dumps(describe(arg)))
    except Exception as err:  # one unreadable file must not hide the others
        print(json.dumps({"path": arg, "error": f"{type(err).__name__}: {err}"}))
