"""A validator1 client written from UserLand's spec (validator1Docs.txt), driven by
Python's xmlrpc.client: each of the eight methods with fresh random data, checked against
what the spec says the answer is. Usage: validator1.py URL"""

import datetime
import random
import string
import sys
import xmlrpc.client

server = xmlrpc.client.ServerProxy(sys.argv[1], use_builtin_types=True)
v = server.validator1
rand = random.Random(1998)


def stooges():
    return {name: rand.randint(-1000, 1000) for name in ("moe", "larry", "curly")}


structs = [stooges() for _ in range(rand.randint(3, 12))]
assert v.arrayOfStructsTest(structs) == sum(s["curly"] for s in structs)

text = "".join(rand.choice(string.ascii_letters + "<>&'\"") for _ in range(200))
counts = v.countTheEntities(text)
assert counts == {
    "ctLeftAngleBrackets": text.count("<"),
    "ctRightAngleBrackets": text.count(">"),
    "ctAmpersands": text.count("&"),
    "ctApostrophes": text.count("'"),
    "ctQuotes": text.count('"'),
}, counts

s = stooges()
assert v.easyStructTest(s) == s["moe"] + s["larry"] + s["curly"]

echo = {"substruct": {"a": [1, "two", 3.5]}, "flag": True, "name": "zentific <&>"}
assert v.echoStructTest(echo) == echo

when = datetime.datetime(1998, 1, 3, 12, 34, 56)
many = v.manyTypesTest(17, True, "a string", 3.25, when, b"\x00\x01binary\xff")
assert many == [17, True, "a string", 3.25, when, b"\x00\x01binary\xff"], many

words = ["".join(rand.choice(string.ascii_lowercase) for _ in range(8)) for _ in range(150)]
assert v.moderateSizeArrayCheck(words) == words[0] + words[-1]

calendar = {}
for year in ("1999", "2000", "2001"):
    calendar[year] = {}
    for month in ("01", "04", "12"):
        calendar[year][month] = {day: stooges() for day in ("01", "15", "30")}
day = calendar["2000"]["04"]["01"]
assert v.nestedStructTest(calendar) == day["moe"] + day["larry"] + day["curly"]

n = rand.randint(-200000, 200000)
assert v.simpleStructReturnTest(n) == {"times10": n * 10, "times100": n * 100, "times1000": n * 1000}

print("validator1: ok")
