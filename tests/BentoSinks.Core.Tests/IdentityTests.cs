using System;
using System.Linq;
using System.Threading.Tasks;

namespace BentoSinks.Core.Tests
{
    public class IdentityTests
    {
        [Fact]
        public async Task Push_sets_the_identity_for_the_flow_and_its_tasks_and_disposal_restores_the_previous_one()
        {
            Assert.Null(BentoIdentity.Current);
            using (BentoIdentity.Push("outer@example.com"))
            {
                using (BentoIdentity.Push("inner@example.com", "In", "Ner"))
                {
                    Assert.Equal("inner@example.com", await Task.Run(() => BentoIdentity.Current?.Email));
                    Assert.Equal(("In", "Ner"), (BentoIdentity.Current!.FirstName, BentoIdentity.Current.LastName));
                }
                Assert.Equal("outer@example.com", BentoIdentity.Current?.Email);
                using (BentoIdentity.Push("not an email")) Assert.Null(BentoIdentity.Current); // pushes no identity
                Assert.Equal("outer@example.com", BentoIdentity.Current?.Email);
            }
            Assert.Null(BentoIdentity.Current);
        }

        [Fact]
        public async Task Concurrent_flows_never_see_each_others_identity()
        {
            var mismatches = 0;
            await Task.WhenAll(System.Linq.Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
            {
                var email = $"user{i}@example.com";
                using (BentoIdentity.Push(email))
                {
                    await Task.Yield();
                    if (BentoIdentity.Current?.Email != email) System.Threading.Interlocked.Increment(ref mismatches);
                }
                if (BentoIdentity.Current != null) System.Threading.Interlocked.Increment(ref mismatches);
            })));
            Assert.Equal(0, mismatches);
        }

        [Fact]
        public void The_identity_never_shows_its_email_or_names_and_refuses_an_invalid_email()
        {
            var identity = new BentoIdentity("ada@example.com", "Ada", "Lovelace");
            Assert.DoesNotContain("ada", identity.ToString(), StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Lovelace", identity.ToString(), StringComparison.Ordinal);
            var ex = Assert.Throws<ArgumentException>(() => new BentoIdentity("ada-at-example.com"));
            Assert.DoesNotContain("ada-at-example.com", ex.Message, StringComparison.Ordinal);
        }

        [Fact]
        public async Task Work_that_copied_the_flow_during_a_scope_sees_nobody_once_the_scope_ends()
        {
            var gate = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            Task<string?> copied;
            using (BentoIdentity.Push("outer@example.com"))
            {
                using (BentoIdentity.Push("ada@example.com")) copied = Task.Run(async () => { await gate.Task; return BentoIdentity.Current?.Email; });
                gate.SetResult(true);
                Assert.Null(await copied); // not Ada, and not the outer scope either: the copied flow's scope has ended
                Assert.Equal("outer@example.com", BentoIdentity.Current?.Email);
                using (BentoIdentity.Push((BentoIdentity?)null)) Assert.Null(BentoIdentity.Current); // nobody hides the outer scope
            }
        }

        [Theory]
        [InlineData("ada@exa\u202Emple.com")] // right-to-left override
        [InlineData("ada@\u2066example.com")] // left-to-right isolate
        [InlineData("ad\u200Ba@example.com")] // zero-width space
        [InlineData("ada@example.com\uFEFF")] // byte order mark
        [InlineData("ada@ex\u00ADample.com")] // soft hyphen
        [InlineData("ada\u3164@example.com")] // Hangul filler
        [InlineData("ada@example.com\u0085")] // next line (C1 control)
        [InlineData("ada\u00A0@example.com")] // no-break space
        public void An_email_with_a_bidi_control_or_invisible_character_is_refused(string email)
        {
            Assert.False(EmailAddress.LooksValid(email));
            Assert.Throws<ArgumentException>(() => new BentoIdentity(email));
            using (BentoIdentity.Push(email)) Assert.Null(BentoIdentity.Current);
        }

        [Fact]
        public void Letters_beyond_ascii_are_still_an_email_and_a_lone_surrogate_is_not()
        {
            Assert.True(EmailAddress.LooksValid("jos\u00E9@ex\u00E4mple.com"));
            Assert.True(EmailAddress.LooksValid("ada@\U0001F600.example.com")); // a pair: an emoji domain label
            Assert.False(EmailAddress.LooksValid("ada@exam" + '\uD800' + "ple.com"));
            Assert.False(EmailAddress.LooksValid("ada@example.com" + "\U000E0001")); // a language tag (format, invisible)
        }

        [Fact]
        public void A_name_longer_than_the_limit_is_left_out_and_the_rest_of_the_identity_kept()
        {
            var identity = new BentoIdentity("ada@example.com", new string('A', BentoIdentity.MaxNameLength + 1), "Lovelace");
            Assert.Null(identity.FirstName);
            Assert.Equal("Lovelace", identity.LastName);
            Assert.Equal(new string('B', BentoIdentity.MaxNameLength), new BentoIdentity("ada@example.com", new string('B', BentoIdentity.MaxNameLength)).FirstName);
        }
    }
}
