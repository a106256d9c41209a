#!/usr/bin/env python3
"""Reads a bulletin XLSX with openpyxl (an independent reader) and prints it as JSON.

    bulletin_xlsx.py FILE.xlsx

Prints {"sheets": [sheet names], "rows": [[cell, ...], ...]} for the first sheet: each cell is
a string, a number (an integral float printed as an integer), a boolean, or null when empty.
Trailing empty cells of a row are kept as null up to the sheet's width.
"""

import json
import sys

import openpyxl


def cell(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == "":
        return None
    return value


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    book = openpyxl.load_workbook(sys.argv[1], read_only=True, data_only=True)
    sheet = book.worksheets[0]
    rows = [[cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    json.dump({"sheets": book.sheetnames, "rows": rows}, sys.stdout, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
