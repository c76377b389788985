// A test IP with a syntax error on line 5, for the rtl target's error messages.
module broken_ip (
    input wire aclk
);
    wire x = ;
endmodule
