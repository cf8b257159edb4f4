using Isaac.LineEditor;

namespace Isaac.Core.Tests.LineEditor;

public sealed class EditBufferTests
{
    private static EditBuffer Buffer(string text, int? cursor = null)
    {
        var buffer = new EditBuffer();
        buffer.Set(text, cursor);
        return buffer;
    }

    [Fact]
    public void Insert_and_delete_work_at_the_cursor()
    {
        // Arrange
        var buffer = Buffer("ac", 1);

        // Act
        buffer.Insert("b");
        buffer.MoveEnd();
        buffer.DeleteBackward();
        buffer.MoveHome();
        buffer.DeleteForward();

        // Assert
        Assert.Equal("b", buffer.Text);
        Assert.Equal(0, buffer.Cursor);
    }

    [Fact]
    public void Word_motions_stop_at_the_starts_and_ends_of_words()
    {
        // Arrange
        var buffer = Buffer("echo  hello-world");

        // Act / Assert
        buffer.MoveWordLeft();
        Assert.Equal(12, buffer.Cursor); // "world"
        buffer.MoveWordLeft();
        Assert.Equal(6, buffer.Cursor); // "hello"
        buffer.MoveWordLeft();
        Assert.Equal(0, buffer.Cursor);
        buffer.MoveWordRight();
        Assert.Equal(4, buffer.Cursor); // after "echo"
        buffer.MoveWordRight();
        Assert.Equal(11, buffer.Cursor); // after "hello"
    }

    [Fact]
    public void Ctrl_w_kills_back_to_whitespace_and_kills_in_a_row_yank_back_as_one()
    {
        // Arrange
        var buffer = Buffer("git commit -m msg");

        // Act
        buffer.KillWhitespaceWordBackward();
        buffer.KillWhitespaceWordBackward();
        var afterKills = buffer.Text;
        buffer.Yank();

        // Assert
        Assert.Equal("git commit ", afterKills);
        Assert.Equal("git commit -m msg", buffer.Text);
        Assert.Equal("-m msg", buffer.KillRing[0]);
    }

    [Fact]
    public void Ctrl_u_and_ctrl_k_kill_each_side_of_the_cursor_into_the_ring()
    {
        // Arrange
        var buffer = Buffer("left|right", 5);

        // Act
        buffer.KillToEnd();
        buffer.MoveLeft();
        buffer.KillToStart();

        // Assert
        Assert.Equal("|", buffer.Text);
        Assert.Equal(["left", "right"], buffer.KillRing);
    }

    [Fact]
    public void Alt_d_and_alt_backspace_kill_words_and_alt_y_rotates_the_ring()
    {
        // Arrange
        var buffer = Buffer("one two three", 4);

        // Act
        buffer.KillWordForward(); // "two"
        buffer.MoveEnd();
        buffer.KillWordBackward(); // "three"
        buffer.Yank();
        var yanked = buffer.Text;
        buffer.YankPop();

        // Assert
        Assert.Equal("one  three", yanked);
        Assert.Equal("one  two", buffer.Text);
    }

    [Fact]
    public void A_combining_mark_and_an_emoji_move_and_delete_as_one_character()
    {
        // Arrange: e + combining acute, then a thumbs-up with a skin tone.
        var buffer = Buffer("e\u0301👍🏽");

        // Act
        buffer.DeleteBackward();
        var afterEmoji = buffer.Text;
        buffer.MoveLeft();

        // Assert
        Assert.Equal("e\u0301", afterEmoji);
        Assert.Equal(0, buffer.Cursor);
    }

    [Fact]
    public void A_completion_replaces_the_word_before_the_cursor()
    {
        // Arrange
        var buffer = Buffer("/sy rest", 3);

        // Act
        buffer.ReplaceBeforeCursor(0, "/sysinfo");

        // Assert
        Assert.Equal("/sysinfo rest", buffer.Text);
        Assert.Equal(8, buffer.Cursor);
    }
}
