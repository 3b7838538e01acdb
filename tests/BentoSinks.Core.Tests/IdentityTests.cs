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
    }
}
