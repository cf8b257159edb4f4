using Isaac.LineEditor;

namespace Isaac.Core.Tests.LineEditor;

public sealed class TextWidthTests
{
    [Theory]
    [InlineData("abc", 3)]
    [InlineData("日本", 4)]
    [InlineData("e\u0301", 1)]
    [InlineData("👍", 2)]
    [InlineData("한글", 4)]
    [InlineData("ＡＢ", 4)]
    public void Wide_characters_take_two_cells_and_combining_marks_none(string text, int cells) =>
        Assert.Equal(cells, TextWidth.Of(text));

    [Fact]
    public void The_common_prefix_of_candidates_is_what_tab_can_add()
    {
        // Act
        var prefix = CompletionSet.CommonPrefix([new Completion("/sync"), new Completion("/sysinfo")]);
        var none = CompletionSet.CommonPrefix([]);

        // Assert
        Assert.Equal("/sy", prefix);
        Assert.Equal("", none);
    }
}
