"""Validates speedscope files against file-format-schema.json (beside this script) with python3-jsonschema,
then checks what a JSON schema cannot say: every frame index points into shared.frames, weights pair with
samples, endValue is not before startValue. Prints "valid" or the problems; exits 1 on problems."""
import json
import os
import sys

import jsonschema

schema_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "file-format-schema.json")
with open(schema_path) as f:
    schema = json.load(f)
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)

failed = False
for path in sys.argv[1:]:
    with open(path) as f:
        document = json.load(f)
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    if not problems:
        frame_count = len(document["shared"]["frames"])
        for number, profile in enumerate(document["profiles"]):
            if profile["endValue"] < profile["startValue"]:
                problems.append(f"profiles/{number}: endValue before startValue")
            if profile["type"] == "sampled":
                if len(profile["samples"]) != len(profile["weights"]):
                    problems.append(f"profiles/{number}: {len(profile['samples'])} samples, {len(profile['weights'])} weights")
                indices = (i for sample in profile["samples"] for i in sample)
            else:
                indices = (event["frame"] for event in profile["events"])
            if any(i >= frame_count for i in indices):
                problems.append(f"profiles/{number}: frame index beyond {frame_count} frames")
    if problems:
        failed = True
        print(f"{path}: invalid")
        for problem in problems[:20]:
            print(f"  {problem}")
    else:
        print(f"{path}: valid")
sys.exit(1 if failed else 0)
