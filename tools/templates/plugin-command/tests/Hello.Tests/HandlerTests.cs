using Isaac.Plugins;

namespace Hello.Tests;

public sealed class HandlerTests
{
    [Fact]
    public async Task Greets_the_argument_in_capitals_with_shout()
    {
        // Arrange
        var request = new CommandRequest
        {
            Command = "hello",
            Text = "/hello Ada --shout",
            Args = ["Ada", "--shout"],
            Arguments = new Dictionary<string, string> { ["who"] = "Ada" },
            WorkingDirectory = Environment.CurrentDirectory,
            Session = new SessionInfo { Device = "test", IsaacHome = Path.GetTempPath() },
            Deadline = DateTimeOffset.UtcNow.AddSeconds(5),
        };

        // Act
        var response = await new Handler().HandleAsync(request, new HandlerContext(), CancellationToken.None);

        // Assert
        Assert.Equal("GREETINGS, ADA!\n", response.Stdout);
    }
}
