using Isaac.Core.Hub;
using Isaac.Core.Queue;

namespace Isaac.Cli.Shell;

/// <summary>Watches routed commands whose results were still to come and announces each as it arrives.</summary>
internal sealed class ResultInbox(CommandQueue queue, HubClient hub)
{
    private static readonly TimeSpan _interval = TimeSpan.FromSeconds(2);

    public async Task WatchAsync(Action<string> announce, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                foreach (var open in await queue.ListUnfinishedRoutedAsync(cancellationToken))
                {
                    if (await hub.WaitAsync(open.Id, TimeSpan.Zero, cancellationToken) is { } current && current.Status != open.Status)
                    {
                        await queue.TrackRoutedAsync(current, cancellationToken);
                    }
                }

                foreach (var arrived in await queue.TakeArrivedAsync(cancellationToken))
                {
                    var lines = Lines(arrived).Select(line => $"[{arrived.Target}] {line}".TrimEnd());
                    announce($"[{arrived.Target}] {arrived.Text}: {arrived.Status}\n{string.Join('\n', lines)}");
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The shell is closing.
        }
    }

    // Above the prompt there is no room for boxes: a table comes as plain rows.
    private static IEnumerable<string> Lines(Isaac.Plugins.RoutedCommand arrived)
    {
        if (arrived.Result is not { } result)
        {
            return [arrived.Error ?? arrived.Status];
        }

        var text = (result.Stdout + result.Stderr).TrimEnd();
        var rows = result.Table is { } table ? new[] { table.Columns }.Concat(table.Rows).Select(row => string.Join("  ", row)) : [];
        return (text.Length > 0 ? text.Split('\n') : []).Concat(rows);
    }
}
