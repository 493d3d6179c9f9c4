"""Feeds (RSS 2.0, RSS 1.0/RDF, Atom) and CSV/TSV exports as article files."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from searchidx.cli import cli
from searchidx.documents import Article
from searchidx.feeds import (
    item_lines,
    outlet_name,
    parse_any_file,
    parse_feed,
    parse_table,
    plain_text,
    table_datetime,
)
from searchidx.indexing import update_index
from searchidx.query import Filters
from searchidx.searching import search
from tests.conftest import ROOT, SAMPLES, article, front_matter

BROKEN = ROOT / "tests" / "data" / "broken"

RSS2 = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>Harbor &amp; Bay Wire</title>
    <link>https://www.harborwire.com/</link>
    <item>
      <title>Port strike ends after tentative deal</title>
      <link>https://www.harborwire.com/news/port-strike-ends</link>
      <pubDate>Fri, 06 Oct 2023 20:50:00 -0700</pubDate>
      <category>Labor</category>
      <category>Labor</category>
      <description>&lt;p&gt;Dockworkers return &lt;b&gt;Monday&lt;/b&gt;.&lt;/p&gt;</description>
      <source url="https://metroledger.com/rss">Metro Ledger</source>
    </item>
    <!-- <item> in a comment is no item -->
    <item>
      <title><![CDATA[Cargo backlog <item> to clear by November]]></title>
      <description>No link, no date.</description>
    </item>
  </channel>
</rss>
"""

RSS1 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://civicsignal.org/">
    <title>Civic Signal</title>
    <link>https://civicsignal.org/</link>
    <description>Public-interest news</description>
  </channel>
  <item rdf:about="https://civicsignal.org/articles/st-aurelia-medical-center-data-breach">
    <title>St. Aurelia Medical Center discloses data breach</title>
    <link>https://civicsignal.org/articles/st-aurelia-medical-center-data-breach</link>
    <description>120,000 patients affected.</description>
    <dc:date>2023-09-12T07:40:00Z</dc:date>
    <dc:subject>Health</dc:subject>
  </item>
</rdf:RDF>
"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Riverside Post</title>
  <link href="https://riversidepost.com/"/>
  <id>https://riversidepost.com/</id>
  <updated>2024-03-04T17:20:00Z</updated>
  <entry>
    <title type="html">Waterfront &lt;em&gt;businesses&lt;/em&gt; split</title>
    <link href="/2024/03/04/waterfront/"/>
    <id>x:1</id>
    <updated>2024-03-04T18:02:00Z</updated>
    <category term="business" label="Business"/>
    <category term="climate"/>
    <summary>Quay Street owners worry.</summary>
    <content type="html">&lt;p&gt;Four years of construction.&lt;/p&gt;</content>
  </entry>
</feed>
"""


def test_rss2_items_are_articles() -> None:
    articles, errors = parse_feed("f.rss", RSS2)
    assert errors == []
    assert articles == [
        Article(
            path="f.rss",
            line=6,
            title="Port strike ends after tentative deal",
            excerpt="Dockworkers return Monday.",
            topics=["Labor"],
            provider="Metro Ledger",  # the item's source, not the feed
            domain="metroledger.com",
            published=datetime(2023, 10, 7, 3, 50, tzinfo=UTC),
            web_url="https://www.harborwire.com/news/port-strike-ends",
        ),
        Article(
            path="f.rss",
            line=16,
            title="Cargo backlog <item> to clear by November",
            excerpt="No link, no date.",
            provider="Harbor & Bay Wire",
            domain="harborwire.com",
        ),
    ]


def test_rss1_rdf_items_are_articles() -> None:
    (a,), errors = parse_feed("f.rdf.xml", RSS1)
    assert errors == []
    assert (a.line, a.title, a.provider, a.domain, a.topics, a.published, a.excerpt) == (
        9,
        "St. Aurelia Medical Center discloses data breach",
        "Civic Signal",
        "civicsignal.org",
        ["Health"],
        datetime(2023, 9, 12, 7, 40, tzinfo=UTC),
        "120,000 patients affected.",
    )


def test_atom_entries_are_articles() -> None:
    (a,), errors = parse_feed("f.atom", ATOM)
    assert errors == []
    assert a == Article(
        path="f.atom",
        line=7,
        title="Waterfront businesses split",
        excerpt="Quay Street owners worry.",
        body="Four years of construction.",
        topics=["Business", "climate"],
        provider="Riverside Post",
        domain="riversidepost.com",
        published=datetime(2024, 3, 4, 18, 2, tzinfo=UTC),
        # Relative links are resolved against the feed's own.
        web_url="https://riversidepost.com/2024/03/04/waterfront/",
    )


def test_item_lines_skip_comments_and_cdata() -> None:
    assert item_lines(RSS2) == [6, 16]
    assert item_lines(b"<feed>\n<entry/>\n<x:entry a='1'>\n<entries>\n<itemx>") == [2, 3]


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("e.rss", b"  \n", ["e.rss: empty file"]),
        (
            "sitemap.xml",
            b'<?xml version="1.0"?><urlset><url><loc>https://x.com/</loc></url></urlset>',
            ["sitemap.xml: not an RSS or Atom feed"],
        ),
        (
            "broken.xml",
            b"<?xml version='1.0'?>\n<notes>\n<a></b>\n",
            ["broken.xml:3: not a readable RSS or Atom feed: mismatched tag"],
        ),
        (
            "items.rss",
            b"<rss version='2.0'><channel><title>T</title>\n"
            b"<item><link>https://x.com/a</link></item>\n"
            b"<item><title>  </title></item>\n"
            b"<item><title>Ok</title><link>ftp://x.com/b</link></item>\n"
            b"<item><title>Ok</title><pubDate>someday</pubDate></item>\n"
            b"<item><title>Good</title></item>\n"
            b"</channel></rss>",
            [
                "items.rss:2: missing title",
                "items.rss:3: title is empty",
                "items.rss:4: link is not a URL: 'ftp://x.com/b'",
                "items.rss:5: published date cannot be read: 'someday'",
            ],
        ),
    ],
)
def test_bad_feeds_and_items(name: str, data: bytes, expected: list[str]) -> None:
    articles, errors = parse_feed(name, data)
    assert [str(e) for e in errors] == expected
    assert [a.title for a in articles] == (["Good"] if name == "items.rss" else [])


CSV = (
    "Publish Date,Headline,Media_Name,URL,Summary,Category,Extra\n"
    '2024-03-05 09:00:00,"Flood barrier, approved",Harbor Wire,https://www.harborwire.com/a,'
    '"Two\nlines",Climate; Local Government|Climate,x\n'
    "\n"
    "1394700000,Second row,,https://metroledger.com/b,,,\n"
    "2024-03-06,Third row,Civic Signal,,,,\n"
)


def test_csv_rows_are_articles() -> None:
    articles, errors = parse_table("c.csv", CSV.encode())
    assert errors == []
    assert articles == [
        Article(
            path="c.csv",
            line=2,
            title="Flood barrier, approved",
            excerpt="Two lines",
            topics=["Climate", "Local Government"],
            provider="Harbor Wire",
            domain="harborwire.com",
            published=datetime(2024, 3, 5, 9, 0, tzinfo=UTC),
            web_url="https://www.harborwire.com/a",
        ),
        Article(
            path="c.csv",
            line=5,  # the row after a quoted line break and a blank line
            title="Second row",
            domain="metroledger.com",
            published=datetime(2014, 3, 13, 8, 40, tzinfo=UTC),
            web_url="https://metroledger.com/b",
        ),
        Article(
            path="c.csv",
            line=6,
            title="Third row",
            provider="Civic Signal",
            published=datetime(2024, 3, 6, tzinfo=UTC),
        ),
    ]


def test_tsv_and_semicolon_csv() -> None:
    tsv = b"title\toutlet\tdomain\nA story\tValley Tribune\thttps://www.valleytribune.com/\n"
    (a,), errors = parse_table("t.tsv", tsv)
    assert (errors, a.title, a.provider, a.domain) == (
        [],
        "A story",
        "Valley Tribune",
        "valleytribune.com",
    )
    semi = b"headline;source;date\nB story;Metro Ledger;2024-01-18T14:00:00+01:00\n"
    (b,), errors = parse_table("s.csv", semi)
    assert (errors, b.title, b.provider, b.published) == (
        [],
        "B story",
        "Metro Ledger",
        datetime(2024, 1, 18, 13, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", ["t.csv: empty file"]),
        (b",,\n , \n", ["t.csv:1: no header row: the file has no values"]),
        (
            b"date,outlet\n2024-01-01,X\n",
            ["t.csv:1: the header names no title column (title or headline): 'date', 'outlet'"],
        ),
        (
            b"title,url\nA,https://x.com/a,extra\nB,https://x.com/b\n",
            ["t.csv:2: row has 3 fields, the header 2"],
        ),
        (b"title,url\n ,https://x.com/a\nB,https://x.com/b\n", ["t.csv:2: title is empty"]),
        (b"title,url\nA,x.com/a\nB,https://x.com/b\n", ["t.csv:2: url is not a URL: 'x.com/a'"]),
        (b"title,date\nA,next week\nB,2024-01-01\n", ["t.csv:2: date is not a date: 'next week'"]),
        (b"title\n\xff\n", ["t.csv:2: not UTF-8: byte 0xff at offset 6"]),
    ],
)
def test_bad_tables_and_rows(data: bytes, expected: list[str]) -> None:
    _, errors = parse_table("t.csv", data)
    assert [str(e) for e in errors] == expected


def test_a_quote_never_closed_is_reported_with_the_lines_it_swallowed() -> None:
    data = b'title,url\nB,https://x.com/b\n"A,https://x.com/a\nC,https://x.com/c\n'
    articles, errors = parse_table("t.csv", data)
    assert [str(e) for e in errors] == [
        "t.csv:3: a quote opened in this row is never closed (lines 3-4 unread)"
    ]
    assert [a.title for a in articles] == ["B"]
    # A quoted line break closed in the last row is no such thing.
    articles, errors = parse_table(
        "t.csv", b'title,url\nB,https://x.com/b\n"A\nA2",https://x.com/a'
    )
    assert (errors, [a.title for a in articles]) == ([], ["B", "A A2"])


def test_tsv_quotes_are_characters_but_around_a_whole_field() -> None:
    # UCI's headlines, unquoted, some starting with a quote: each row is its line.
    data = (
        b'title\turl\n"Peaches has died. We are beyond pain.\thttps://x.com/p\n'
        b'"Death stars" in Orion blast planets\thttps://x.com/d\n'
        b'"A ""quoted"" headline"\thttps://x.com/q\n'
        b"Last row\thttps://x.com/l"
    )
    articles, errors = parse_table("t.tsv", data)
    assert errors == []
    assert [(a.line, a.title) for a in articles] == [
        (2, '"Peaches has died. We are beyond pain.'),
        (3, '"Death stars" in Orion blast planets'),
        (4, 'A "quoted" headline'),
        (5, "Last row"),
    ]


def test_table_datetime() -> None:
    assert table_datetime("2024-03-05") == datetime(2024, 3, 5, tzinfo=UTC)
    assert table_datetime("Thu, 07 Mar 2024 14:30:00 CEST") == datetime(
        2024, 3, 7, 12, 30, tzinfo=UTC
    )
    assert table_datetime("Thu, 07 Mar 2024 14:30:00 ET") == datetime(
        2024, 3, 7, 19, 30, tzinfo=UTC
    )
    assert table_datetime("Thu, 07 Mar 2024 14:30:00") == datetime(2024, 3, 7, 14, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="names a time zone that cannot be read: 'IST'"):
        table_datetime("Thu, 07 Mar 2024 14:30:00 IST")
    assert table_datetime("2024-03-05T09:00:00Z") == datetime(2024, 3, 5, 9, tzinfo=UTC)
    assert table_datetime("Tue, 05 Mar 2024 04:45:00 GMT") == datetime(
        2024, 3, 5, 4, 45, tzinfo=UTC
    )
    assert table_datetime("1394700000123") == datetime(2014, 3, 13, 8, 40, 0, 123000, tzinfo=UTC)
    with pytest.raises(ValueError, match="is not a date: '12/03/2024'"):
        table_datetime("12/03/2024")


def test_other_suffixes_go_to_the_article_reader() -> None:
    articles, errors = parse_any_file("a.json", json.dumps({"title": "T"}).encode())
    assert (errors, [a.title for a in articles]) == ([], ["T"])


# --- indexing ---------------------------------------------------------------------------------


def test_a_folder_of_feeds_only_is_indexed(tmp_path: Path, index_path: str) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    (folder / "wire.rss").write_bytes(RSS2)
    (folder / "civic.xml").write_bytes(RSS1)
    result = CliRunner().invoke(cli, ["--index", index_path, "index", str(folder)])
    assert result.exit_code == 0, result.output
    assert "(3 items from 2 files in" in result.output
    hits = search(index_path, "*", sort="oldest", limit=10).hits
    assert [(h.title, h.provider, h.path.rsplit("/", 1)[1]) for h in hits] == [
        ("St. Aurelia Medical Center discloses data breach", "Civic Signal", "civic.xml"),
        ("Port strike ends after tentative deal", "Metro Ledger", "wire.rss"),
        ("Cargo backlog <item> to clear by November", "Harbor & Bay Wire", "wire.rss"),
    ]


def test_feed_items_share_identity_with_seed_files(tmp_path: Path, index_path: str) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    # A seed-shaped file that lists the RSS item's story as related coverage, and a CSV
    # row with the seed article's own URL (tracking parameter and all).
    (folder / "a.md").write_text(
        front_matter(
            article(
                "Dockworkers walk off job",
                "https://metroledger.com/strike",
                related=[
                    {
                        "title": "Port strike ends",
                        "webUrl": "https://harborwire.com/news/port-strike-ends/",
                    }
                ],
            )
        ),
        encoding="utf-8",
    )
    (folder / "b.rss").write_bytes(RSS2)
    (folder / "c.csv").write_text(
        "title,url\nDockworkers walk off the job,https://www.metroledger.com/strike?utm_source=x\n",
        encoding="utf-8",
    )
    summary = update_index(index_path, [str(folder)], jobs=1)
    assert (summary.failed, summary.items) == (0, 3)
    every = search(index_path, "*", Filters(kind="related"), limit=10)
    assert every.total == 0  # the related story is the feed's article
    strike = search(index_path, "port strike ends", limit=10).hits
    assert [(h.kind, h.path.rsplit("/", 1)[1]) for h in strike] == [("article", "b.rss")]


def test_bad_items_are_reported_and_the_rest_indexed(tmp_path: Path, index_path: str) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(BROKEN, folder)
    result = CliRunner().invoke(cli, ["--index", index_path, "index", str(folder)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{folder}/bad-entry.atom:13: missing title",
        f"{folder}/bad-item.rss:13: published date cannot be read: 'the day after yesterday'",
        f"{folder}/bad-row.csv:3: title is empty",
        f"{folder}/bad-row.csv:4: url is not a URL: 'civicsignal.org/quillon-severance'",
        f"created index at {index_path}",
    ]
    assert (
        "added 3, updated 0, removed 0, unchanged 0, failed 0, skipped 4 records in "
        in result.stdout
    )
    assert "(5 items from 3 files in" in result.stdout
    assert search(index_path, "quillon").total == 2


def test_samples_feeds_and_export_search_like_seed_files(sample_index: str) -> None:
    def where(query: str) -> list[tuple[str, str, str]]:
        return [
            (h.title, h.provider, Path(h.path).name)
            for h in search(sample_index, query, limit=5).hits
        ]

    assert where("quay street residents suit") == [
        (
            "Harbor gate opponents file suit over environmental review",
            "Bay Chronicle",
            "032-bay-chronicle.rss",
        ),
    ]
    assert where("riverside shippers trucks") == [
        (
            "Port strike leaves Riverside shippers scrambling for trucks",
            "Riverside Post",
            "033-riverside-post.atom",
        ),
    ]
    assert where("freeze credit") == [
        (
            "St. Aurelia breach: patients urged to freeze credit",
            "Meridian Public Radio",
            "034-coverage-export.csv",
        ),
    ]
    # An Atom entry from another outlet names it as its source.
    assert where("northern canyons") == [
        (
            "Evacuation orders lifted as Sawtooth Ridge fire nears containment",
            "Pinecrest Gazette",
            "033-riverside-post.atom",
        ),
    ]
    assert sorted(p.suffix for p in SAMPLES.iterdir() if p.suffix not in {".md", ".txt"}) == [
        ".atom",
        ".csv",
        ".json",
        ".jsonl",
        ".rss",
    ]


def test_items_are_numbered_when_tags_and_items_do_not_match() -> None:
    # An <x:item> of another vocabulary is no RSS item: three tags, two items.
    data = (
        b'<rss version="2.0" xmlns:x="http://example.org/x"><channel><title>T</title>\n'
        b"<x:item>not an item</x:item>\n"
        b"<item><title>A</title></item>\n"
        b"<item><link>https://x.com/b</link></item>\n"
        b"</channel></rss>"
    )
    articles, errors = parse_feed("p.rss", data)
    assert [str(e) for e in errors] == ["p.rss: item 2: missing title"]
    assert [(a.title, a.line) for a in articles] == [("A", 1)]


def test_entity_bombs_and_external_entities_are_not_expanded() -> None:
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)
    )
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]><rss version="2.0"><channel>'
        "<title>T</title><item><title>&j;</title></item></channel></rss>"
    )
    articles, _ = parse_feed("bomb.rss", bomb.encode())
    assert all(len(a.title) < 100 for a in articles)
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
        b'<rss version="2.0"><channel><title>T</title><item><title>A &x; B</title></item>'
        b"</channel></rss>"
    )
    (a,), errors = parse_feed("xxe.rss", xxe)
    assert (a.title, errors) == ("A B", [])


@pytest.mark.parametrize(
    ("html", "text"),
    [
        # A "<" before a space or digit is text, not the start of a tag.
        ("rates &lt; 6% while inflation stays &gt; 3%", "rates < 6% while inflation stays > 3%"),
        ("rates < 6% while inflation stays > 3%", "rates < 6% while inflation stays > 3%"),
        # Inline tags join what they separate; block tags part it.
        ("<p>Power by <b>Thursday</b>, <a href='x'>the</a> utility said.</p><p>Next</p>",
         "Power by Thursday, the utility said. Next"),
        ("one<br/>two<li>three</li><!-- c -->four", "one two three four"),
    ],
)  # fmt: skip
def test_plain_text_of_html(html: str, text: str) -> None:
    assert plain_text(html) == text


@pytest.mark.parametrize(
    ("title", "domain", "outlet"),
    [
        ("BBC News - World", "bbc.co.uk", "BBC News"),
        ("World news | The Guardian", "theguardian.com", "The Guardian"),
        ("NYT > Top Stories", "nytimes.com", "NYT"),
        ("Reuters: World News", "reuters.com", "Reuters"),
        ("CNN.com - RSS Channel - App International Edition", "edition.cnn.com", "CNN.com"),
        # No part names the site, or it is not split: the whole title.
        ("Top Stories - World", "bbc.co.uk", "Top Stories - World"),
        ("Harbor & Bay Wire", "harborwire.com", "Harbor & Bay Wire"),
        ("BBC - BBC News", "bbc.co.uk", "BBC - BBC News"),
        ("BBC News - World", "", "BBC News - World"),
    ],
)
def test_outlet_name_of_a_feed_title(title: str, domain: str, outlet: str) -> None:
    assert outlet_name(title, domain) == outlet


def _rss(title: str, items: str) -> bytes:
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel>"
        f"<title>{title}</title><link>https://www.bbc.co.uk/news</link>\n{items}"
        "</channel></rss>"
    ).encode()


def test_one_outlet_s_feeds_give_one_provider(tmp_path: Path, index_path: str) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    for section in ("World", "Business"):
        item = f"<item><title>{section} story</title><link>https://www.bbc.co.uk/{section}</link></item>"
        (folder / f"bbc-{section}.rss").write_bytes(_rss(f"BBC News - {section}", item))
    result = CliRunner().invoke(cli, ["--index", index_path, "index", str(folder)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["--index", index_path, "facets", "provider", "-f", "csv"])
    assert result.output.splitlines()[1:] == ["BBC News,2,1.0,bbc.co.uk"]


def test_an_item_whose_guid_or_id_is_no_url_has_no_link() -> None:
    items = (
        "<item><title>Guid only</title><guid>edge-000982</guid></item>\n"
        "<item><title>Urn id</title><guid>urn:uuid:1225c695-cfb8</guid></item>\n"
        "<item><title>Guid URL</title><guid>https://www.bbc.co.uk/a</guid></item>\n"
    )
    articles, errors = parse_feed("f.rss", _rss("BBC News", items))
    assert errors == []
    assert [(a.title, a.web_url, a.line) for a in articles] == [
        ("Guid only", "", 2),
        ("Urn id", "", 3),
        ("Guid URL", "https://www.bbc.co.uk/a", 4),
    ]


def test_feed_dates_with_zone_names() -> None:
    items = "".join(
        f"<item><title>{zone}</title><pubDate>Thu, 07 Mar 2024 14:30:00 {zone}</pubDate></item>\n"
        for zone in ("CEST", "BST", "AEDT", "EST", "MEST", "GMT", "IST", "XYZ")
    )
    articles, errors = parse_feed("f.rss", _rss("BBC News", items))
    assert [
        (a.title, a.published.strftime("%d %H:%M") if a.published else None) for a in articles
    ] == [
        ("CEST", "07 12:30"),
        ("BST", "07 13:30"),
        ("AEDT", "07 03:30"),
        ("EST", "07 19:30"),
        ("MEST", "07 12:30"),
        ("GMT", "07 14:30"),
    ]
    assert [str(e) for e in errors] == [
        "f.rss:8: published date names a time zone that cannot be read: 'IST'",
        "f.rss:9: published date names a time zone that cannot be read: 'XYZ'",
    ]
