"""Globs exactly as pachd 2.12 matches them: cases from Pachyderm's and ohmyglob's own tests
and code paths (file:line of pachyderm/pachyderm@7ed6c9f, branch 2.12.x, and of
pachyderm/ohmyglob@d5b4777, the version pachd pins; notes in docs/local-runner.md)."""

from __future__ import annotations

import pytest

from pachflow.pipeline_spec import glob_entries, ohmyglob
from pachflow.pipeline_spec.globs import clean_glob, compile_pach_glob, glob_problem

OMG = "ohmyglob "
PACH = "pachyderm "

# (glob, separators, subject, matches, source). ohmyglob's tables call Compile(p) with no
# separator unless they pass one, so there `*` crosses '/'.
OHMYGLOB_CASES = [
    ("*", "", "abc", True, "glob_test.go:83"),
    ("\\*", "", "*", True, "glob_test.go:84"),
    ("a.*", ".", "a.b.c", False, "glob_test.go:89"),
    ("a.**", ".", "a.b.c", True, "glob_test.go:78"),
    ("?at", "", "at", False, "glob_test.go:87"),
    ("*/*/*", "", "foo/bb/aa/rr", True, "glob_test.go:147"),
    ("*/*/*", "/", "foo/bb/aa/rr", False, "glob_test.go:148"),
    ("**/**/**", "/", "foo/bb/aa/rr", True, "glob_test.go:149"),
    ("[!a]*", "", "this is a test3", True, "glob_test.go:102"),
    ("{abc,abcd}a", "", "abcda", True, "glob_test.go:115"),
    ("{*,**}{a,b}", "", "ac", False, "glob_test.go:118"),
    ("[a-z]", "", "C", False, "glob_test.go:121"),
    ("[[:alpha:]]", "", "C", True, "glob_test.go:122"),
    ("[[:^alpha:]]", "", ".", True, "glob_test.go:124"),
    ("[![:graph:]]", "", "!", False, "glob_test.go:128"),
    ("*//{,*.}example.com", "", "http://example.com", True, "glob_test.go:144"),
    ("", "", "", True, "glob_test.go:68"),
    ("*.(a|b)", "", "a.bb", False, "extglob_test.go:11"),
    ("[!/][!/]/../", "", "ab/../", True, "extglob_test.go:49"),
    ("(a+|b)+", "", "abd", False, "extglob_test.go:41"),
    ("+()x", "", "abc", False, "extglob_test.go:144"),
    ("+([0-7])", "", "09", False, "extglob_test.go:150"),
    ("a\\(*b", "", "a((b", True, "extglob_test.go:180"),
    ("para*([0-9])", "", "para", True, "extglob_test.go:252"),
    ("ab**(e|f)g", "", "abcfefg", True, "extglob_test.go:216"),
    ("a??b", "", "aab", False, "extglob_test.go:163"),
    ("!(x)", "", "foo/bar", True, "extglob_test.go:296"),
    ("!(x)", "/", "foo/bar", False, "extglob_test.go:297"),
    ("!(foo)*", "", "foobar", False, "extglob_test.go:305"),
    ("!(*.js|*.json)", "", "a.js.gz", True, "extglob_test.go:281"),
    ("*.!(js)", "", "foo.js.js", True, "extglob_test.go:379"),
    ("*.!(js)*", "", "foo.js.js", False, "extglob_test.go:380"),
    ("!*.(a|b)", "", "a.a", False, "extglob_test.go:409"),  # a `!` without `(` is text
    ("!(*.a|*.b|*.c)", "", "a.abcd", True, "extglob_test.go:417"),
]


@pytest.mark.parametrize(
    "glob, separators, subject, expected, source",
    OHMYGLOB_CASES,
    ids=[f"{OMG}{c[4]}" for c in OHMYGLOB_CASES],
)
def test_ohmyglob_matches_like_ohmyglob(glob, separators, subject, expected, source):
    assert (ohmyglob.compile_glob(glob, separators).match(subject) is not None) is expected


# (glob as written in a spec, entry path as pachd lists it, matches, source). Directories
# end in '/', the root is '/'.
PACHD_CASES = [
    ("/*", "/dir1/", True, "src/server/pfs/server/testing/server_test.go:4130"),
    ("/*", "/dir1/file1.1", False, "src/server/pfs/server/testing/server_test.go:4130"),
    ("**.2", "/dir1/file1.2", True, "src/server/pfs/server/testing/server_test.go:4128"),
    ("/", "/", True, "src/server/pfs/server/paths.go:18"),
    ("/foo?1", "/foo11", True, "src/server/worker/datum/iterator_test.go:52"),
    ("/foo?1", "/foo1", False, "src/server/worker/datum/iterator_test.go:63"),
    ("/foo*2", "/foo2", True, "src/server/worker/datum/iterator_test.go:54"),
    ("!(**)", "/foo0", False, "src/server/worker/datum/iterator_test.go:44"),
    ("/(*)/", "/foo-1", True, "src/server/worker/datum/iterator_test.go:373"),
    ("dir1", "/dir1/", True, "src/internal/pfsfile/pfsfile.go:15 CleanPath"),
    ("//dir1//./", "/dir1/", True, "src/internal/pfsfile/pfsfile.go:15 CleanPath"),
    ("/dir1/../dir2/*", "/dir2/file2.1", True, "pfsfile.go:15 (path.Clean)"),
    ("/d[!x]r1", "/dir1/", True, "ohmyglob compiler/compiler.go:116-122"),
    ("/a[!x]b", "/a/b", True, "ohmyglob compiler/compiler.go:116-122 ([!..] matches '/')"),
    ("/[[:digit:]]", "/[", True, "ohmyglob syntax/ast/parser.go:11-26"),
    ("/[[:digit:]]", "/7", True, "ohmyglob syntax/ast/parser.go:11-26"),
    ("/!(dir1)", "/dir2/", True, "ohmyglob compiler/compiler.go:88-93"),
    ("/!(dir1)", "/dir1/", False, "ohmyglob compiler/compiler.go:88-93"),
    ("/**", "/dir1/", True, "src/server/pfs/server/paths.go:16-23"),
    ("/**", "/dir1/file1.1", True, "src/server/pfs/server/paths.go:16-23"),
    ("/@(dir1|dir2)", "/dir2/", True, "ohmyglob compiler/compiler.go:86-87"),
    ("/*", "/", False, "src/server/pfs/server/paths.go:18-22 (only `/` matches the root)"),
]


@pytest.mark.parametrize(
    "glob, entry, expected, source", PACHD_CASES, ids=[f"{PACH}{c[3]}" for c in PACHD_CASES]
)
def test_pachd_glob_matches_entry(glob, entry, expected, source):
    assert compile_pach_glob(glob).matches(entry) is expected


@pytest.mark.parametrize(
    "written, cleaned",
    [
        ("", "/"),
        ("*", "/*"),
        ("a/", "/a"),
        ("//a//b/", "/a/b"),
        ("/a/./b", "/a/b"),
        ("/a/../b", "/b"),
        ("/(*)/", "/(*)"),
        (".", "/"),
        ("/a*/../b", "/b"),
        ("//a", "/a"),
    ],
)
def test_globs_are_cleaned_like_pfsfile_clean_path(written, cleaned):
    # src/internal/pfsfile/pfsfile.go:15-21 (Go's path.Clean, then one leading '/')
    assert clean_glob(written) == cleaned


def test_a_backslash_before_the_first_wildcard_stays_in_the_literal_prefix():
    # src/internal/storage/paths.go:31-37: prefix "/\d" reads no file, though the regex
    # alone would match /dir1
    files = ["/dir1/a", "/d"]
    assert compile_pach_glob("/\\d*").regex.match("/dir1")
    assert glob_entries.match("/\\d*", files) == []


# ---------------------------------------------------------------- (glob, files) -> datums


def datums(glob: str, files: list[str]) -> list[str]:
    return [entry for entry, _ in glob_entries.match(glob, files)]


GLOB_FILE = (
    [f"/file{i}" for i in range(100)]
    + [f"/dir1/file{i}" for i in range(100)]
    + [f"/dir2/dir3/file{i}" for i in range(100)]
)


def test_glob_file_counts_from_pachyderms_test_glob_file():
    # src/server/pfs/server/testing/server_test.go:3983-3997
    assert len(datums("*", GLOB_FILE)) == 102
    assert len(datums("file*", GLOB_FILE)) == 100
    assert len(datums("dir1/*", GLOB_FILE)) == 100
    assert len(datums("*/*", GLOB_FILE)) == 101
    # GetFileTAR("**file1?") (:4015-4020): 30 files among the datums
    assert len([e for e in datums("**file1?", GLOB_FILE) if not e.endswith("/")]) == 30


def test_an_empty_commit_makes_no_datum_even_with_glob_root():
    # server_test.go:4059-4071 (after DeleteFile("/") a glob lists nothing) and
    # fileset/dir_inserter.go:33-53 (the root entry exists only above some file)
    assert glob_entries.match("/", []) == []
    assert glob_entries.match("**", []) == []
    assert glob_entries.match("/*", []) == []


def test_glob_file_lists_in_path_order_with_directories_as_dir_slash():
    # server_test.go:4074-4133 (TestGlobFile2, TestGlobFile3)
    assert datums("/1*", [f"/{i}" for i in range(100)]) == ["/1"] + [f"/1{i}" for i in range(10)]
    tree = ["/dir1/file1.1", "/dir1/file1.2", "/dir2/file2.1", "/dir2/file2.2"]
    assert datums("**.2", tree) == ["/dir1/file1.2", "/dir2/file2.2"]
    assert datums("/dir1/*", tree) == ["/dir1/file1.1", "/dir1/file1.2"]
    assert datums("/*", tree) == ["/dir1/", "/dir2/"]
    assert glob_entries.match("/", tree) == [("/", tree)]
    # lexicographic with the trailing slash: /a-b sorts before /a/
    assert datums("/*", ["/a/x", "/a-b"]) == ["/a-b", "/a/"]
    # /** makes nested datums: every directory and every file (paths.go:16-23)
    assert datums("/**", ["/d/f"]) == ["/d/", "/d/f"]


def test_a_directory_datum_holds_its_whole_subtree():
    held = dict(glob_entries.match("/*", ["/d/a", "/d/sub/b", "/d-x", "/e"]))
    assert held["/d/"] == ["/d/a", "/d/sub/b"]
    assert held["/d-x"] == ["/d-x"]


# ---------------------------------------------------------------- Replace (join_on/group_by)

REPLACE_CASES = [
    ("name=(*)", "name=adele", "$1", "adele", "capture_test.go:96"),
    ("name=(*)", "n[.ipxi", "$1", "", "capture_test.go:97"),
    ("name=(*)", "name=adele", "${1}1", "adele1", "capture_test.go:98"),
    ("name=(*)", "name=adele", "$$1", "$1", "capture_test.go:99"),
    (
        "(((((((((??)))))))))*(a|b)",
        "xfbaaaababbbabaa",
        "$10",
        "baaaababbbabaa",
        "capture_test.go:100",
    ),
    (
        "name=(*)/year=(*)/(*).dat",
        "name=adele/year=2016/photos.dat",
        "$3 of $1 from $2",
        "photos of adele from 2016",
        "capture_test.go:102",
    ),
    (
        "name=(*)/year=(*)/(*).dat",
        "name=adele/year=2016/photos.dat",
        "$0",
        "name=adele/year=2016/photos.dat",
        "capture_test.go:103",
    ),
    (
        "name=!(adele)/year=(2?1(?))/(*).dat",
        "name=roxanne/year=2514/puzzle.dat",
        "$1 from the $3th year of the decade, obtained a $4",
        "roxanne from the 4th year of the decade, obtained a puzzle",
        "capture_test.go:104",
    ),
]


@pytest.mark.parametrize(
    "glob, subject, template, expected, source",
    REPLACE_CASES,
    ids=[f"{OMG}{c[4]}" for c in REPLACE_CASES],
)
def test_replace_builds_keys_like_ohmyglob(glob, subject, template, expected, source):
    assert ohmyglob.replace(ohmyglob.compile_glob(glob, ""), subject, template) == expected


def test_keys_of_directories_ignore_the_trailing_slash():
    # src/server/worker/datum/worker.go:131-135
    assert compile_pach_glob("/dir-(?)(?)").replace("/dir-01/", "$2") == "1"


# ---------------------------------------------------------------- the validator


@pytest.mark.parametrize(
    "glob",
    [
        "/",
        "/*",
        "*",
        "/(*)",
        "/@(a|b)/*",
        "/!(x)",
        "/*(a)",
        "/+(a)",
        "/?(a)",
        "/[[:digit:]]*",
        "/[!a]",
        "/[^a]",
        "/a/",
        "//a",
        "/a/./b",
        "/{a,b",
        "/a}",
        "/a)",
        "/a]",
        "/a\\",
        "/(a",
        "/{a,b,}",
        "/**",
        "/[]x[]",
    ],
)
def test_the_validator_accepts_every_glob_pachd_runs(glob):
    assert glob_problem(glob) is None
    compile_pach_glob(glob)  # and the runner can match with it


@pytest.mark.parametrize(
    "glob, why",
    [
        ("", "input must specify a glob"),
        ("/[ab", "unexpected end of input"),
        ("/[]", "error parsing regexp"),
        ("/[z-a]", "error parsing regexp"),
        ("/^(a)", "unimplemented quatifier"),
        ("/a\ufffdb", "could not read rune"),
    ],
)
def test_the_validator_rejects_what_pachd_rejects_or_cannot_compile(glob, why):
    problem = glob_problem(glob)
    assert problem is not None and why in problem
