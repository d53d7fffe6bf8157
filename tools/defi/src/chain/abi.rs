//! The contract functions this bundle calls, declared once with
//! `alloy_sol_types::sol!` (selectors and ABI encoding come from alloy):
//! Beefy's `BeefyVaultV7` (`deposit`, `depositAll`, `withdraw`,
//! `withdrawAll`, `getPricePerFullShare`, `balance`, `want`, `strategy`),
//! ERC-20 (`balanceOf`, `totalSupply`, `allowance`, `approve`, `decimals`,
//! `symbol`, `name`), Beefy boosts (`rewardRate`, `totalSupply`,
//! `periodFinish`) and Multicall3 (`aggregate3`, `getEthBalance`).

use alloy_sol_types::sol;

sol! {
    /// Beefy vault (BeefyVaultV7) functions.
    interface IBeefyVault {
        function deposit(uint256 _amount) external;
        function depositAll() external;
        function withdraw(uint256 _shares) external;
        function withdrawAll() external;
        function getPricePerFullShare() external view returns (uint256);
        function balance() external view returns (uint256);
        function want() external view returns (address);
        function strategy() external view returns (address);
    }

    /// ERC-20 (EIP-20) functions.
    interface IERC20 {
        function balanceOf(address owner) external view returns (uint256);
        function totalSupply() external view returns (uint256);
        function allowance(address owner, address spender) external view returns (uint256);
        function approve(address spender, uint256 amount) external returns (bool);
        function decimals() external view returns (uint8);
        function symbol() external view returns (string);
        function name() external view returns (string);
    }

    /// Beefy boost (reward pool for staked moo tokens).
    interface IBeefyBoost {
        function rewardRate() external view returns (uint256);
        function totalSupply() external view returns (uint256);
        function periodFinish() external view returns (uint256);
    }

    /// Multicall3 (https://www.multicall3.com).
    interface IMulticall3 {
        struct Call3 {
            address target;
            bool allowFailure;
            bytes callData;
        }
        struct Result {
            bool success;
            bytes returnData;
        }
        function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory returnData);
        function getEthBalance(address addr) external view returns (uint256 balance);
    }
}
