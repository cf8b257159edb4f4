using Isaac.LineEditor;

namespace Isaac.Core.Tests.LineEditor;

public sealed class EditorHistoryTests
{
    [Fact]
    public void Lines_are_kept_once_in_their_newest_place_and_capped()
    {
        // Arrange
        var history = new EditorHistory(limit: 3);

        // Act
        history.Load(["a", "b", "a", "c", "d", ""]);

        // Assert
        Assert.Equal(["a", "c", "d"], Enumerable.Range(0, history.Count).Select(i => history[i]));
    }

    [Fact]
    public void Reverse_search_finds_the_newest_match_first_then_older_ones()
    {
        // Arrange
        var history = new EditorHistory(limit: 100);
        history.Load(["git status", "ls", "git commit", "make"]);

        // Act
        var first = history.SearchBackward("git", history.Count);
        var second = history.SearchBackward("git", first);
        var none = history.SearchBackward("git", second);

        // Assert
        Assert.Equal("git commit", history[first]);
        Assert.Equal("git status", history[second]);
        Assert.Equal(-1, none);
    }

    [Fact]
    public void The_suggestion_is_the_newest_longer_line_with_the_typed_prefix()
    {
        // Arrange
        var history = new EditorHistory(limit: 100);
        history.Load(["echo one", "echo two", "ls"]);

        // Act / Assert
        Assert.Equal("echo two", history.Suggest("ec"));
        Assert.Null(history.Suggest("ls"));
        Assert.Null(history.Suggest(""));
    }

    [Fact]
    public void Search_over_a_hundred_thousand_lines_finds_the_only_old_match()
    {
        // Arrange
        var history = new EditorHistory(limit: 100_000);
        history.Load(["needle 1", .. Enumerable.Range(0, 99_999).Select(i => $"cmd {i}")]);

        // Act
        var found = history.SearchBackward("needle", history.Count);

        // Assert
        Assert.Equal(0, found);
        Assert.Equal(100_000, history.Count);
    }
}
