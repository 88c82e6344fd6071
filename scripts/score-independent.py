"""Scores a Kaggle submission against Kaggle-format truth CSVs with the acceptance script's own
VOC 2010 AP@0.5 scorer (scripts/acceptance-foundation.py: independent_score), which shares no code
with `cxr-studio score`. Used to check issue 4's "scored by an independent scorer".

  /usr/bin/python3 scripts/score-independent.py STUDY_CSV IMAGE_CSV SUBMISSION
e.g. for the demo's held-out split: DEMO/test_study_level.csv DEMO/test_image_level.csv submission.csv
"""
import ast
import csv
import importlib.util
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('acceptance', os.path.join(here, 'acceptance-foundation.py'))
acceptance = importlib.util.module_from_spec(spec)
spec.loader.exec_module(acceptance)

COLUMNS = {'Negative for Pneumonia': 'negative', 'Typical Appearance': 'typical',
           'Indeterminate Appearance': 'indeterminate', 'Atypical Appearance': 'atypical'}


def truth(study_csv, image_csv):
    study_rows, image_rows = [], []
    with open(study_csv, newline='') as f:
        for row in csv.DictReader(f):
            cls = [name for column, name in COLUMNS.items() if row[column] == '1']
            study_rows.append({'studyId': row['id'][:-len('_study')], 'cls': cls[0]})
    with open(image_csv, newline='') as f:
        for row in csv.DictReader(f):
            boxes = ast.literal_eval(row['boxes']) if row['boxes'].strip() else []
            image_rows.append({'imageId': row['id'][:-len('_image')], 'boxes': boxes or []})
    return {'studyRows': study_rows, 'imageRows': image_rows}


def submission(path):
    parsed = []
    with open(path, newline='') as f:
        for record in list(csv.reader(f))[1:]:
            tokens = record[1].split()
            parsed.append((record[0], [(tokens[k], float(tokens[k + 1]), *map(float, tokens[k + 2:k + 6]))
                                       for k in range(0, len(tokens), 6)]))
    return parsed


if __name__ == '__main__':
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    objects = acceptance.truth_objects(truth(sys.argv[1], sys.argv[2]))
    print(json.dumps(acceptance.independent_score(objects, submission(sys.argv[3])), indent=2))
