using Isaac.Core.Internal;
using Isaac.Core.Queue;
using Isaac.Core.Wire;
using Isaac.Plugins;

namespace Isaac.Core.Routing;

/// <summary>Watches routed commands whose results were still to come and announces each as it arrives.</summary>
internal sealed class ResultInbox(CommandQueue queue, HubClient hub, Action<string> announce, TimeProvider? time = null) : IAsyncDisposable
{
    private static readonly TimeSpan _interval = TimeSpan.FromSeconds(2);

    private BackgroundLoop? _loop;

    public void Start()
    {
        if (_loop is null)
        {
            _loop = new BackgroundLoop("result inbox", PassAsync, time);
            queue.ResultsAwaited += _loop.Wake;
        }

        _loop.Start();
    }

    // One long-poll for the results of up to 1,000 open routed commands: it returns as soon as any is final, and
    // everything it brings is stored in one transaction. The wait is short so that commands routed meanwhile join
    // the next poll soon; with nothing open the loop sleeps until this process routes something (ResultsAwaited), or
    // for the interval, when another process's sync may have delivered commands of ours.
    private async Task<TimeSpan> PassAsync(CancellationToken cancellationToken)
    {
        var open = await queue.ListUnfinishedRoutedAsync(MaxPerPoll, cancellationToken).ConfigureAwait(false);
        var arrivedNow = false;
        if (open.Count > 0 && await hub.ResultsAsync([.. open.Select(o => o.Id)], _interval, cancellationToken).ConfigureAwait(false) is { Count: > 0 } final)
        {
            await queue.TrackRoutedAsync(final, cancellationToken).ConfigureAwait(false);
            arrivedNow = true;
        }

        foreach (var arrived in await queue.TakeArrivedAsync(cancellationToken).ConfigureAwait(false))
        {
            announce(Describe(arrived));
        }

        return arrivedNow ? TimeSpan.Zero : _interval;
    }

    private const int MaxPerPoll = 1_000;

    /// <summary>Above the prompt there is no room for boxes: a table comes as plain rows, every line marked with the device.</summary>
    public static string Describe(RoutedCommand arrived)
    {
        if (arrived.Status == RoutedStatus.InDoubt)
        {
            return $"[{arrived.Target}] {arrived.Text}: in doubt - {arrived.Error ?? "its agent stopped while it was running"} To run it again: !{arrived.Target} {arrived.Text}";
        }

        var lines = Lines(arrived).Select(line => $"[{arrived.Target}] {line}".TrimEnd());
        return $"[{arrived.Target}] {arrived.Text}: {arrived.Status}\n{string.Join('\n', lines)}";
    }

    private static IEnumerable<string> Lines(RoutedCommand arrived)
    {
        if (arrived.Result is not { } result)
        {
            return [arrived.Error ?? arrived.Status];
        }

        var text = (result.Stdout + result.Stderr).TrimEnd();
        var rows = result.Table is { Columns: { } columns, Rows: { } body } ? new[] { columns }.Concat(body).Select(row => string.Join("  ", row ?? [])) : [];
        return (text.Length > 0 ? text.Split('\n') : []).Concat(rows);
    }

    public async ValueTask DisposeAsync()
    {
        if (_loop is { } loop)
        {
            queue.ResultsAwaited -= loop.Wake;
            await loop.DisposeAsync().ConfigureAwait(false);
        }
    }
}
