"""vgg_lessons.publishing.bibstyle: the reference list is labelled by author and year."""

# ---- references: the list's labels are the text's author-year citations ---------------
def test_reference_list_is_labelled_by_author_and_year_with_links():
    from pathlib import Path

    from pybtex.database import parse_file

    from vgg_lessons.publishing.bibstyle import AuthorYearStyle

    bib = parse_file(Path(__file__).parents[1] / "book" / "references.bib")
    formatted = {e.key: e.label for e in AuthorYearStyle().format_bibliography(bib)}
    assert formatted["simonyan2015very"] == "Simonyan and Zisserman, 2015"
    assert formatted["krizhevsky2009learning"] == "Krizhevsky, 2009"
    assert formatted["luo2016understanding"] == "Luo et al., 2016"
    for key in ("krizhevsky2009learning", "krizhevsky2012imagenet"):
        assert bib.entries[key].fields["url"].startswith("https://")
