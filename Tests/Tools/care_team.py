#!/usr/bin/env python3
"""Independent checks of what dosectl makes for the care team (SPEC 11), run by the end-to-end tests
with the virtual environment `make test` prepares (.build/venv):

  care_team.py ics FILE    parse with `icalendar`; print JSON [{uid, start, duration, summary, alarms}]
  care_team.py fhir FILE   validate every resource with `fhir.resources` (R4B models); check references
                           resolve inside the bundle; print JSON {types: {Type: count}, ids: [...]}
  care_team.py html FILE   parse with `html5lib` (strict: parse errors are reported); list every
                           external URL in src/href/url(...); print JSON {errors, external, svgs, titles}

Exit 1 with a message on stderr when a check fails."""
import json
import re
import sys


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def ics(path):
    import icalendar
    raw = open(path, "rb").read()
    if b"\n" in raw.replace(b"\r\n", b""):
        fail("a line ends without CR")
    for line in raw.split(b"\r\n"):
        if len(line) > 75:
            fail(f"a line is longer than 75 octets: {line[:40]!r}...")
    calendar = icalendar.Calendar.from_ical(raw)
    if str(calendar.get("PRODID")) != "-//dosed//dosectl//EN":
        fail("PRODID is not -//dosed//dosectl//EN")
    events = []
    for event in calendar.walk("VEVENT"):
        for field in ("UID", "DTSTAMP", "DTSTART", "DURATION", "SUMMARY", "DESCRIPTION", "CATEGORIES"):
            if event.get(field) is None:
                fail(f"an event has no {field}")
        start = event.decoded("DTSTART")
        if start.tzinfo is None or start.utcoffset().total_seconds() != 0:
            fail("DTSTART is not in UTC")
        alarms = []
        for alarm in event.walk("VALARM"):
            if str(alarm.get("ACTION")) != "DISPLAY":
                fail("an alarm is not ACTION:DISPLAY")
            alarms.append(int(alarm.decoded("TRIGGER").total_seconds()))
        events.append({
            "uid": str(event.get("UID")),
            "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration": int(event.decoded("DURATION").total_seconds()),
            "summary": str(event.get("SUMMARY")),
            "description": str(event.get("DESCRIPTION")),
            "categories": [str(c) for c in event.get("CATEGORIES").cats],
            "alarms": sorted(alarms),
        })
    print(json.dumps(events))


def fhir(path):
    from fhir.resources.R4B.bundle import Bundle
    data = json.load(open(path))
    bundle = Bundle.model_validate(data)  # raises on any invalid element
    if bundle.type != "collection":
        fail("the bundle is not a collection")
    present = set()
    types = {}
    for entry in data["entry"]:
        resource = entry["resource"]
        key = f'{resource["resourceType"]}/{resource["id"]}'
        if key in present:
            fail(f"{key} appears twice")
        present.add(key)
        types[resource["resourceType"]] = types.get(resource["resourceType"], 0) + 1
        if entry.get("fullUrl") is None:
            fail(f"{key} has no fullUrl")

    def references(value):
        if isinstance(value, dict):
            for k, v in value.items():
                if k == "reference":
                    yield v
                else:
                    yield from references(v)
        elif isinstance(value, list):
            for v in value:
                yield from references(v)

    for entry in data["entry"]:
        for reference in references(entry["resource"]):
            if reference not in present:
                fail(f'{entry["resource"]["resourceType"]}/{entry["resource"]["id"]} refers to {reference}, not in the bundle')
    print(json.dumps({"types": types, "ids": sorted(present)}))


def html(path):
    import html5lib
    text = open(path, encoding="utf-8").read()
    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree"), strict=False)
    document = parser.parse(text)
    errors = [f"{pos}: {code}" for pos, code, _ in parser.errors]
    external = []
    svgs = 0
    titles = 0
    for element in document.iter():
        tag = element.tag.split("}")[-1] if isinstance(element.tag, str) else ""
        if tag == "svg":
            svgs += 1
        if tag in ("title", "desc") and "svg" in element.tag:
            titles += 1
        for name in ("src", "href", "{http://www.w3.org/1999/xlink}href", "action", "poster", "data"):
            value = element.get(name)
            if value is not None and not value.startswith("#"):
                external.append(value)
        if tag == "script":
            external.append("<script>")
        if tag == "link":
            external.append("<link>")
        style = (element.get("style") or "") + ((element.text or "") if tag == "style" else "")
        for url in re.findall(r"url\(([^)]*)\)", style):
            if not url.strip("'\" ").startswith("#"):
                external.append(url)
        if tag == "style" and "@import" in style:
            external.append("@import")
    if not text.lstrip().lower().startswith("<!doctype html>"):
        errors.append("no <!DOCTYPE html>")
    print(json.dumps({"errors": errors, "external": external, "svgs": svgs, "titles": titles}))


if __name__ == "__main__":
    {"ics": ics, "fhir": fhir, "html": html}[sys.argv[1]](sys.argv[2])
