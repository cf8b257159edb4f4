using Isaac.Core.Dispatch;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Dispatch;

public sealed class InputClassificationTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("", "Empty")]
    [InlineData("   ", "Empty")]
    [InlineData("/queue", "Meta")]
    [InlineData("/queue failed", "Meta")]
    [InlineData("/queued", "UnknownMeta")]
    [InlineData("/nothing here", "UnknownMeta")]
    [InlineData("!laptop2 /status", "Route")]
    [InlineData("!laptop2", "Shell")]
    [InlineData("!! ls", "Shell")]
    [InlineData("ls -la", "Shell")]
    [InlineData("/bin/echo hi", "Shell")]
    [InlineData("/tmp", "Shell")]
    [InlineData("/usr/bin/env", "Shell")]
    public async Task Input_is_classified_as_meta_route_or_shell(string line, string expected)
    {
        TestManifests.Script(_dir.Path, "queue", "true");
        var catalog = await TestManifests.CatalogAsync(_dir.Path);

        var input = ParsedInput.Parse(line, catalog);

        Assert.Equal(expected, input.Kind.ToString());
    }

    [Fact]
    public async Task A_route_carries_the_device_and_the_rest_of_the_line_verbatim()
    {
        var catalog = await TestManifests.CatalogAsync(_dir.Path);

        var input = ParsedInput.Parse("!build-box.2 /deploy 'a b' && echo $HOME", catalog);

        Assert.Equal("build-box.2", input.Device);
        Assert.Equal("/deploy 'a b' && echo $HOME", input.RoutedText);
    }

    [Fact]
    public async Task Named_groups_become_captures_and_the_capture_name_takes_the_last_group()
    {
        _dir.Write("deploy/run.sh", "#!/bin/sh\n");
        _dir.Write("deploy/command.yaml", """
            version: "1.0"
            command:
              name: deploy
            triggers:
              - prefix: "@"
                pattern: "^deploy\\s+(?<env>prod|staging)(\\s+(.*))?$"
                capture: rest
            runtime:
              handler: run.sh
            """);
        var catalog = await TestManifests.CatalogAsync(_dir.Path);

        var match = catalog.Match("@deploy prod --force now");
        var noArgs = catalog.Match("@deploy staging");

        Assert.NotNull(match);
        Assert.Equal("prod", match.Captures["env"]);
        Assert.Equal("--force now", match.Captures["rest"]);
        Assert.Equal("--force now", match.ArgsText);
        Assert.Equal("", noArgs!.ArgsText);
        Assert.Null(catalog.Match("/deploy prod"));
        Assert.Null(catalog.Match("@deploy dev"));
    }

    [Fact]
    public async Task A_command_without_triggers_answers_to_its_name()
    {
        _dir.Write("plain/run.sh", "#!/bin/sh\n");
        _dir.Write("plain/command.yaml", "version: \"1.0\"\ncommand:\n  name: plain\nruntime:\n  handler: run.sh\n");
        var catalog = await TestManifests.CatalogAsync(_dir.Path);

        var match = catalog.Match("/plain x y");

        Assert.Equal("x y", match!.ArgsText);
        Assert.Null(catalog.Match("/plainer"));
    }

    [Theory]
    [InlineData("a b  c", new[] { "a", "b", "c" })]
    [InlineData("'a b' \"c d\"", new[] { "a b", "c d" })]
    [InlineData("say\\ hi \"q\\\"uote\"", new[] { "say hi", "q\"uote" })]
    [InlineData("$(rm -rf /) `x` ; |", new[] { "$(rm", "-rf", "/)", "`x`", ";", "|" })]
    [InlineData("''", new[] { "" })]
    [InlineData("", new string[0])]
    public void Argument_words_are_split_like_a_shell_but_never_expanded(string text, string[] expected) =>
        Assert.Equal(expected, ArgumentWords.Split(text));

    [Fact]
    public void An_unclosed_quote_gives_no_words() => Assert.Null(ArgumentWords.Split("'open"));
}
